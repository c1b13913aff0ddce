package dev.rectify.generate.jinja;

import dev.rectify.generate.jinja.Ast.Expr;
import dev.rectify.generate.jinja.Ast.Node;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a parsed template. Scoping follows Jinja2: {@code if} shares its scope, each {@code for} iteration
 * starts a fresh child scope (a {@code set} inside a loop is not visible after it; use a namespace), macros see
 * the template's top-level variables. Evaluation errors become {@link TemplateRenderException}s with the line.
 */
final class Renderer {
    private static final class Scope {
        final Scope parent;
        final Map<String, Object> vars = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) {
                    return s.vars.get(name);
                }
            }
            return new Undefined("'" + name + "' is undefined");
        }
    }

    private static final class BreakSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final BreakSignal INSTANCE = new BreakSignal();

        BreakSignal() {
            super(null, null, false, false);
        }
    }

    private static final class ContinueSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final ContinueSignal INSTANCE = new ContinueSignal();

        ContinueSignal() {
            super(null, null, false, false);
        }
    }

    private final Scope root;

    Renderer(Map<String, Object> globals) {
        Scope g = new Scope(null);
        g.vars.putAll(globals);
        this.root = new Scope(g);
    }

    String render(List<Node> body) {
        StringBuilder out = new StringBuilder();
        execute(body, root, out);
        return out.toString();
    }

    private void execute(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node n : nodes) {
            try {
                execute(n, scope, out);
            } catch (JinjaError e) {
                throw TemplateRenderException.at(n.line(), e.getMessage());
            }
        }
    }

    private void execute(Node n, Scope scope, StringBuilder out) {
        if (n instanceof Ast.Text t) {
            out.append(t.text());
        } else if (n instanceof Ast.Output o) {
            out.append(Py.str(eval(o.expr(), scope)));
        } else if (n instanceof Ast.If f) {
            for (int i = 0; i < f.conditions().size(); i++) {
                if (Py.truthy(eval(f.conditions().get(i), scope))) {
                    execute(f.bodies().get(i), scope, out);
                    return;
                }
            }
            execute(f.otherwise(), scope, out);
        } else if (n instanceof Ast.For f) {
            forLoop(f, scope, out);
        } else if (n instanceof Ast.Set s) {
            Object v = eval(s.value(), scope);
            assign(s.targets(), v, scope);
        } else if (n instanceof Ast.SetAttr s) {
            Object target = scope.lookup(s.name());
            if (!(target instanceof Namespace ns)) {
                throw new JinjaError("cannot assign attribute on non-namespace object '" + s.name() + "'");
            }
            ns.attrs.put(s.attr(), eval(s.value(), scope));
        } else if (n instanceof Ast.SetBlock s) {
            StringBuilder b = new StringBuilder();
            execute(s.body(), scope, b);
            scope.vars.put(s.name(), b.toString());
        } else if (n instanceof Ast.Macro m) {
            scope.vars.put(m.name(), macro(m, scope));
        } else if (n instanceof Ast.Break) {
            throw BreakSignal.INSTANCE;
        } else if (n instanceof Ast.Continue) {
            throw ContinueSignal.INSTANCE;
        } else if (n instanceof Ast.Generation g) {
            execute(g.body(), scope, out);
        } else {
            throw new JinjaError("unknown statement " + n.getClass().getSimpleName());
        }
    }

    private void assign(List<String> targets, Object v, Scope scope) {
        if (targets.size() == 1) {
            scope.vars.put(targets.get(0), v);
            return;
        }
        List<Object> items = Py.iterate(v);
        if (items.size() != targets.size()) {
            throw new JinjaError((items.size() < targets.size() ? "not enough" : "too many")
                    + " values to unpack (expected " + targets.size() + ", got " + items.size() + ")");
        }
        for (int i = 0; i < targets.size(); i++) {
            scope.vars.put(targets.get(i), items.get(i));
        }
    }

    private void forLoop(Ast.For f, Scope scope, StringBuilder out) {
        List<Object> items = Py.iterate(eval(f.iterable(), scope));
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                assign(f.targets(), item, s);
                if (Py.truthy(eval(f.filter(), s))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        if (items.isEmpty()) {
            execute(f.otherwise(), scope, out);
            return;
        }
        LoopContext loop = new LoopContext(items);
        for (int i = 0; i < items.size(); i++) {
            loop.index0 = i;
            Scope s = new Scope(scope);
            assign(f.targets(), items.get(i), s);
            s.vars.put("loop", loop);
            try {
                execute(f.body(), s, out);
            } catch (BreakSignal b) {
                break;
            } catch (ContinueSignal c) {
                continue;
            }
        }
    }

    private PyCallable macro(Ast.Macro m, Scope defined) {
        return (args, kw) -> {
            Scope s = new Scope(defined == root ? root : defined);
            int nParams = m.params().size();
            if (args.size() > nParams) {
                throw new JinjaError("macro '" + m.name() + "' takes not more than " + nParams + " argument(s)");
            }
            int firstDefault = nParams - m.defaults().size();
            for (int i = 0; i < nParams; i++) {
                String p = m.params().get(i);
                if (i < args.size()) {
                    s.vars.put(p, args.get(i));
                } else if (kw.containsKey(p)) {
                    s.vars.put(p, kw.get(p));
                } else if (i >= firstDefault) {
                    s.vars.put(p, eval(m.defaults().get(i - firstDefault), s));
                } else {
                    s.vars.put(p, new Undefined("parameter '" + p + "' was not provided"));
                }
            }
            StringBuilder b = new StringBuilder();
            execute(m.body(), s, b);
            return b.toString();
        };
    }

    // ---- expressions ----

    Object eval(Expr e, Scope scope) {
        if (e instanceof Ast.Literal l) {
            return l.value();
        }
        if (e instanceof Ast.Name n) {
            return scope.lookup(n.name());
        }
        if (e instanceof Ast.GetAttr a) {
            return Py.getAttr(eval(a.target(), scope), a.attr());
        }
        if (e instanceof Ast.GetItem g) {
            Object key = eval(g.key(), scope);
            return Py.getItem(eval(g.target(), scope), key);
        }
        if (e instanceof Ast.Slice s) {
            Object target = eval(s.target(), scope);
            return Py.slice(target, opt(s.start(), scope), opt(s.stop(), scope), opt(s.step(), scope));
        }
        if (e instanceof Ast.Call c) {
            Object fn = eval(c.fn(), scope);
            List<Object> args = evalAll(c.args(), scope);
            Map<String, Object> kw = kwargs(c.kwNames(), c.kwValues(), scope);
            if (fn instanceof PyCallable pc) {
                return pc.call(args, kw);
            }
            if (fn instanceof Undefined u) {
                throw u.error();
            }
            throw new JinjaError("'" + Py.typeName(fn) + "' object is not callable");
        }
        if (e instanceof Ast.Filter f) {
            Object v = eval(f.target(), scope);
            return Builtins.filter(
                    f.name(), v, evalAll(f.args(), scope), kwargs(f.kwNames(), f.kwValues(), scope), this);
        }
        if (e instanceof Ast.Test t) {
            Object v = eval(t.target(), scope);
            boolean r = Builtins.test(t.name(), v, evalAll(t.args(), scope), this);
            return r != t.negated();
        }
        if (e instanceof Ast.Unary u) {
            Object v = eval(u.operand(), scope);
            if (u.op().equals("-")) {
                return Py.negate(v);
            }
            if (v instanceof Undefined und) {
                throw und.error();
            }
            if (!Py.isNumber(v)) {
                throw new JinjaError("bad operand type for unary +: '" + Py.typeName(v) + "'");
            }
            return v instanceof Boolean ? (Object) Py.toLong(v) : v;
        }
        if (e instanceof Ast.Binary b) {
            Object l = eval(b.left(), scope);
            Object r = eval(b.right(), scope);
            if (b.op().equals("~")) {
                return Py.str(l) + Py.str(r);
            }
            return Py.binary(b.op(), l, r);
        }
        if (e instanceof Ast.Compare c) {
            Object left = eval(c.first(), scope);
            for (int i = 0; i < c.ops().size(); i++) {
                Object right = eval(c.rest().get(i), scope);
                if (!compare(c.ops().get(i), left, right)) {
                    return false;
                }
                left = right;
            }
            return true;
        }
        if (e instanceof Ast.And a) {
            Object l = eval(a.left(), scope);
            return Py.truthy(l) ? eval(a.right(), scope) : l;
        }
        if (e instanceof Ast.Or o) {
            Object l = eval(o.left(), scope);
            return Py.truthy(l) ? l : eval(o.right(), scope);
        }
        if (e instanceof Ast.Not n) {
            return !Py.truthy(eval(n.operand(), scope));
        }
        if (e instanceof Ast.Conditional c) {
            if (Py.truthy(eval(c.condition(), scope))) {
                return eval(c.then(), scope);
            }
            return c.otherwise() == null
                    ? new Undefined("the inline if-expression evaluated to false and no else " + "section was defined.")
                    : eval(c.otherwise(), scope);
        }
        if (e instanceof Ast.ListLit l) {
            return evalAll(l.items(), scope);
        }
        if (e instanceof Ast.TupleLit t) {
            return new PyTuple(evalAll(t.items(), scope));
        }
        if (e instanceof Ast.DictLit d) {
            Map<Object, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < d.keys().size(); i++) {
                m.put(eval(d.keys().get(i), scope), eval(d.values().get(i), scope));
            }
            return m;
        }
        throw new JinjaError("unknown expression " + e.getClass().getSimpleName());
    }

    private static boolean compare(String op, Object l, Object r) {
        return switch (op) {
            case "==" -> Py.eq(l, r);
            case "!=" -> !Py.eq(l, r);
            case "<" -> Py.compare(l, r, op) < 0;
            case "<=" -> Py.compare(l, r, op) <= 0;
            case ">" -> Py.compare(l, r, op) > 0;
            case ">=" -> Py.compare(l, r, op) >= 0;
            case "in" -> Py.contains(r, l);
            case "notin" -> !Py.contains(r, l);
            default -> throw new JinjaError("unknown comparison " + op);
        };
    }

    private Object opt(Expr e, Scope scope) {
        if (e == null) {
            return null;
        }
        Object v = eval(e, scope);
        if (v instanceof Undefined u) {
            throw u.error();
        }
        return v;
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr x : exprs) {
            out.add(eval(x, scope));
        }
        return out;
    }

    private Map<String, Object> kwargs(List<String> names, List<Expr> values, Scope scope) {
        Map<String, Object> kw = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            kw.put(names.get(i), eval(values.get(i), scope));
        }
        return kw;
    }
}
