package dev.rectify.generate.jinja;

import dev.rectify.generate.jinja.Ast.Expr;
import dev.rectify.generate.jinja.Ast.Node;
import dev.rectify.generate.jinja.Lexer.Kind;
import dev.rectify.generate.jinja.Lexer.Token;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Recursive-descent parser for the Jinja subset chat templates use, following Jinja2's grammar and operator
 * precedence (filters and {@code is} tests bind tighter than arithmetic; {@code ~} sits between {@code +} and
 * {@code *}). Statements: if/elif/else, for (with else, loop filter, tuple targets), set (plain, tuple, namespace
 * attribute, block), macro, break/continue (loopcontrols), raw, and transformers' generation block.
 *
 * <p>Over 400 lines because a recursive-descent grammar reads best as one file: one short method per rule, in
 * Jinja2's order of precedence.
 */
final class Parser {
    private final List<Token> tokens;
    private int p;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser parser = new Parser(Lexer.tokenize(source));
        List<Node> body = new ArrayList<>();
        String end = parser.body(body, Set.of());
        if (end != null) {
            throw new TemplateSyntaxException(
                    "unexpected {% " + end + " %}", parser.peek().line());
        }
        return body;
    }

    private Token peek() {
        return tokens.get(p);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(p + ahead, tokens.size() - 1));
    }

    private Token next() {
        return tokens.get(p++);
    }

    private boolean acceptOp(String op) {
        if (peek().isOp(op)) {
            p++;
            return true;
        }
        return false;
    }

    private boolean acceptName(String name) {
        if (peek().isName(name)) {
            p++;
            return true;
        }
        return false;
    }

    private void expectOp(String op) {
        if (!acceptOp(op)) {
            throw error("expected '" + op + "'");
        }
    }

    private String expectName() {
        if (peek().kind() != Kind.NAME) {
            throw error("expected a name");
        }
        return next().text();
    }

    private void expectBlockEnd() {
        if (peek().kind() != Kind.BLOCK_END) {
            throw error("expected the end of the tag %}");
        }
        p++;
    }

    private TemplateSyntaxException error(String what) {
        Token t = peek();
        String found = t.kind() == Kind.EOF ? "the end of the template" : "'" + t.text() + "'";
        return new TemplateSyntaxException(what + ", found " + found, t.line());
    }

    /** Parses nodes until one of {@code ends} (returned, its tag name consumed) or the end of input (null). */
    private String body(List<Node> out, Set<String> ends) {
        while (true) {
            Token t = next();
            switch (t.kind()) {
                case EOF -> {
                    if (!ends.isEmpty()) {
                        p--;
                        throw error("missing {% " + String.join(" or ", ends) + " %}");
                    }
                    return null;
                }
                case TEXT -> out.add(new Ast.Text(t.text(), t.line()));
                case VAR_BEGIN -> {
                    Expr e = tuple(true);
                    if (peek().kind() != Kind.VAR_END) {
                        throw error("expected the end of the expression }}");
                    }
                    p++;
                    out.add(new Ast.Output(e, t.line()));
                }
                case BLOCK_BEGIN -> {
                    Token name = peek();
                    if (name.kind() == Kind.NAME && ends.contains(name.text())) {
                        p++;
                        return name.text();
                    }
                    out.add(statement());
                }
                default -> {
                    p--;
                    throw error("unexpected token");
                }
            }
        }
    }

    private Node statement() {
        Token t = peek();
        String name = expectName();
        int line = t.line();
        switch (name) {
            case "if": {
                List<Expr> conds = new ArrayList<>();
                List<List<Node>> bodies = new ArrayList<>();
                List<Node> otherwise = new ArrayList<>();
                conds.add(tuple(false));
                expectBlockEnd();
                while (true) {
                    List<Node> b = new ArrayList<>();
                    String end = body(b, Set.of("elif", "else", "endif"));
                    bodies.add(b);
                    if (end.equals("elif")) {
                        conds.add(tuple(false));
                        expectBlockEnd();
                    } else if (end.equals("else")) {
                        expectBlockEnd();
                        body(otherwise, Set.of("endif"));
                        expectBlockEnd();
                        break;
                    } else {
                        expectBlockEnd();
                        break;
                    }
                }
                return new Ast.If(conds, bodies, otherwise, line);
            }
            case "for": {
                List<String> targets = new ArrayList<>();
                boolean paren = acceptOp("(");
                do {
                    targets.add(expectName());
                } while (acceptOp(","));
                if (paren) {
                    expectOp(")");
                }
                if (!acceptName("in")) {
                    throw error("expected 'in' in the for loop");
                }
                Expr iterable = tuple(false);
                Expr filter = null;
                if (acceptName("if")) {
                    filter = expression(true);
                }
                if (peek().isName("recursive")) {
                    throw error("recursive loops are not supported");
                }
                expectBlockEnd();
                List<Node> body = new ArrayList<>();
                List<Node> otherwise = new ArrayList<>();
                String end = body(body, Set.of("else", "endfor"));
                expectBlockEnd();
                if (end.equals("else")) {
                    body(otherwise, Set.of("endfor"));
                    expectBlockEnd();
                }
                return new Ast.For(targets, iterable, filter, body, otherwise, line);
            }
            case "set": {
                String first = expectName();
                if (acceptOp(".")) {
                    String attr = expectName();
                    expectOp("=");
                    Expr v = tuple(true);
                    expectBlockEnd();
                    return new Ast.SetAttr(first, attr, v, line);
                }
                List<String> targets = new ArrayList<>(List.of(first));
                while (acceptOp(",")) {
                    if (peek().kind() != Kind.NAME) {
                        break;
                    }
                    targets.add(expectName());
                }
                if (acceptOp("=")) {
                    Expr v = tuple(true);
                    expectBlockEnd();
                    return new Ast.Set(targets, v, line);
                }
                if (targets.size() != 1) {
                    throw error("expected '='");
                }
                expectBlockEnd();
                List<Node> body = new ArrayList<>();
                body(body, Set.of("endset"));
                expectBlockEnd();
                return new Ast.SetBlock(first, body, line);
            }
            case "macro": {
                String macro = expectName();
                List<String> params = new ArrayList<>();
                List<Expr> defaults = new ArrayList<>();
                expectOp("(");
                while (!acceptOp(")")) {
                    if (!params.isEmpty()) {
                        expectOp(",");
                        if (acceptOp(")")) {
                            break;
                        }
                    }
                    params.add(expectName());
                    if (acceptOp("=")) {
                        defaults.add(expression(true));
                    } else if (!defaults.isEmpty()) {
                        throw error("a macro parameter without a default follows one with a default");
                    }
                }
                expectBlockEnd();
                List<Node> body = new ArrayList<>();
                body(body, Set.of("endmacro"));
                if (peek().kind() == Kind.NAME) {
                    p++;
                }
                expectBlockEnd();
                return new Ast.Macro(macro, params, defaults, body, line);
            }
            case "break":
                expectBlockEnd();
                return new Ast.Break(line);
            case "continue":
                expectBlockEnd();
                return new Ast.Continue(line);
            case "generation": {
                expectBlockEnd();
                List<Node> body = new ArrayList<>();
                body(body, Set.of("endgeneration"));
                expectBlockEnd();
                return new Ast.Generation(body, line);
            }
            default:
                p--;
                throw error("unsupported or unknown tag '" + name + "'");
        }
    }

    // ---- expressions ----

    private Expr tuple(boolean withCondExpr) {
        int line = peek().line();
        List<Expr> items = new ArrayList<>();
        boolean comma = false;
        while (true) {
            if (!items.isEmpty()) {
                if (!acceptOp(",")) {
                    break;
                }
                comma = true;
            }
            if (isTupleEnd()) {
                break;
            }
            items.add(expression(withCondExpr));
        }
        if (!comma) {
            if (items.isEmpty()) {
                throw error("expected an expression");
            }
            return items.get(0);
        }
        return new Ast.TupleLit(items, line);
    }

    private boolean isTupleEnd() {
        Token t = peek();
        return t.kind() == Kind.VAR_END
                || t.kind() == Kind.BLOCK_END
                || t.kind() == Kind.EOF
                || t.isOp(")")
                || t.isName("in")
                || t.isName("if")
                || t.isName("recursive");
    }

    private Expr expression(boolean withCondExpr) {
        return withCondExpr ? condExpr() : or();
    }

    private Expr condExpr() {
        Expr e = or();
        while (peek().isName("if")) {
            int line = next().line();
            Expr cond = or();
            Expr otherwise = null;
            if (acceptName("else")) {
                otherwise = condExpr();
            }
            e = new Ast.Conditional(cond, e, otherwise, line);
        }
        return e;
    }

    private Expr or() {
        Expr e = and();
        while (peek().isName("or")) {
            int line = next().line();
            e = new Ast.Or(e, and(), line);
        }
        return e;
    }

    private Expr and() {
        Expr e = not();
        while (peek().isName("and")) {
            int line = next().line();
            e = new Ast.And(e, not(), line);
        }
        return e;
    }

    private Expr not() {
        if (peek().isName("not")) {
            int line = next().line();
            return new Ast.Not(not(), line);
        }
        return compare();
    }

    private Expr compare() {
        int line = peek().line();
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && Set.of("==", "!=", "<", "<=", ">", ">=").contains(t.text())) {
                p++;
                ops.add(t.text());
            } else if (t.isName("in")) {
                p++;
                ops.add("in");
            } else if (t.isName("not") && peek(1).isName("in")) {
                p += 2;
                ops.add("notin");
            } else {
                break;
            }
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Ast.Compare(first, ops, rest, line);
    }

    private Expr math1() {
        Expr e = concat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token op = next();
            e = new Ast.Binary(op.text(), e, concat(), op.line());
        }
        return e;
    }

    private Expr concat() {
        Expr e = math2();
        while (peek().isOp("~")) {
            Token op = next();
            e = new Ast.Binary("~", e, math2(), op.line());
        }
        return e;
    }

    private Expr math2() {
        Expr e = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token op = next();
            e = new Ast.Binary(op.text(), e, pow(), op.line());
        }
        return e;
    }

    private Expr pow() {
        Expr e = unary(true);
        while (peek().isOp("**")) {
            Token op = next();
            e = new Ast.Binary("**", e, unary(true), op.line());
        }
        return e;
    }

    private Expr unary(boolean withFilter) {
        Token t = peek();
        Expr e;
        if (t.isOp("-") || t.isOp("+")) {
            p++;
            e = new Ast.Unary(t.text(), unary(false), t.line());
        } else {
            e = primary();
        }
        e = postfix(e);
        return withFilter ? filterExpr(e) : e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Ast.Literal(Boolean.TRUE, t.line());
                    case "false", "False" -> new Ast.Literal(Boolean.FALSE, t.line());
                    case "none", "None" -> new Ast.Literal(null, t.line());
                    default -> new Ast.Name(t.text(), t.line());
                };
            }
            case STRING -> {
                StringBuilder b = new StringBuilder((String) t.value());
                while (peek().kind() == Kind.STRING) {
                    b.append((String) next().value());
                }
                return new Ast.Literal(b.toString(), t.line());
            }
            case INT, FLOAT -> {
                return new Ast.Literal(t.value(), t.line());
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        if (acceptOp(")")) {
                            return new Ast.TupleLit(List.of(), t.line());
                        }
                        Expr first = expression(true);
                        if (acceptOp(")")) {
                            return first;
                        }
                        List<Expr> items = new ArrayList<>(List.of(first));
                        while (acceptOp(",")) {
                            if (peek().isOp(")")) {
                                break;
                            }
                            items.add(expression(true));
                        }
                        expectOp(")");
                        return new Ast.TupleLit(items, t.line());
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!acceptOp("]")) {
                            if (!items.isEmpty()) {
                                expectOp(",");
                                if (acceptOp("]")) {
                                    break;
                                }
                            }
                            items.add(expression(true));
                        }
                        return new Ast.ListLit(items, t.line());
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!acceptOp("}")) {
                            if (!keys.isEmpty()) {
                                expectOp(",");
                                if (acceptOp("}")) {
                                    break;
                                }
                            }
                            keys.add(expression(true));
                            expectOp(":");
                            values.add(expression(true));
                        }
                        return new Ast.DictLit(keys, values, t.line());
                    }
                    default -> {}
                }
            }
            default -> {}
        }
        p--;
        throw error("unexpected token in an expression");
    }

    private Expr postfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp(".")) {
                p++;
                Token n = next();
                if (n.kind() == Kind.NAME) {
                    e = new Ast.GetAttr(e, n.text(), t.line());
                } else if (n.kind() == Kind.INT) {
                    e = new Ast.GetItem(e, new Ast.Literal(n.value(), n.line()), t.line());
                } else {
                    p--;
                    throw error("expected an attribute name after '.'");
                }
            } else if (t.isOp("[")) {
                p++;
                e = subscript(e, t.line());
            } else if (t.isOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Expr subscript(Expr target, int line) {
        Expr start = null;
        if (!peek().isOp(":")) {
            start = expression(true);
            if (acceptOp("]")) {
                return new Ast.GetItem(target, start, line);
            }
            if (peek().isOp(",")) {
                List<Expr> items = new ArrayList<>(List.of(start));
                while (acceptOp(",")) {
                    if (peek().isOp("]")) {
                        break;
                    }
                    items.add(expression(true));
                }
                expectOp("]");
                return new Ast.GetItem(target, new Ast.TupleLit(items, line), line);
            }
        }
        expectOp(":");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOp("]") && !peek().isOp(":")) {
            stop = expression(true);
        }
        if (acceptOp(":") && !peek().isOp("]")) {
            step = expression(true);
        }
        expectOp("]");
        return new Ast.Slice(target, start, stop, step, line);
    }

    private Expr call(Expr fn) {
        int line = peek().line();
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        callArgs(args, kwNames, kwValues);
        return new Ast.Call(fn, args, kwNames, kwValues, line);
    }

    private void callArgs(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {
        expectOp("(");
        boolean first = true;
        while (!acceptOp(")")) {
            if (!first) {
                expectOp(",");
                if (acceptOp(")")) {
                    break;
                }
            }
            first = false;
            if (peek().kind() == Kind.NAME && peek(1).isOp("=")) {
                kwNames.add(next().text());
                p++;
                kwValues.add(expression(true));
            } else {
                if (!kwNames.isEmpty()) {
                    throw error("a positional argument follows keyword arguments");
                }
                args.add(expression(true));
            }
        }
    }

    private Expr filterExpr(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp("|")) {
                p++;
                String name = dottedName();
                List<Expr> args = new ArrayList<>();
                List<String> kwNames = new ArrayList<>();
                List<Expr> kwValues = new ArrayList<>();
                if (peek().isOp("(")) {
                    callArgs(args, kwNames, kwValues);
                }
                e = new Ast.Filter(e, name, args, kwNames, kwValues, t.line());
            } else if (t.isName("is")) {
                p++;
                boolean negated = acceptName("not");
                String name = dottedName();
                List<Expr> args = new ArrayList<>();
                Token a = peek();
                if (a.isOp("(")) {
                    List<String> kwNames = new ArrayList<>();
                    callArgs(args, kwNames, new ArrayList<>());
                    if (!kwNames.isEmpty()) {
                        throw error("tests take no keyword arguments here");
                    }
                } else if ((a.kind() == Kind.NAME
                                || a.kind() == Kind.STRING
                                || a.kind() == Kind.INT
                                || a.kind() == Kind.FLOAT
                                || a.isOp("[")
                                || a.isOp("{"))
                        && !a.isName("else")
                        && !a.isName("or")
                        && !a.isName("and")) {
                    if (a.isName("is")) {
                        throw error("tests cannot be chained with 'is'");
                    }
                    args.add(postfix(primary()));
                }
                e = new Ast.Test(e, name, args, negated, t.line());
            } else if (t.isOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private String dottedName() {
        StringBuilder b = new StringBuilder(expectName());
        while (peek().isOp(".") && peek(1).kind() == Kind.NAME) {
            p++;
            b.append('.').append(next().text());
        }
        return b.toString();
    }
}
