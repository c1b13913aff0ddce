package dev.rectify.generate.jinja;

import java.util.List;

/** The parsed form of a template: statements ({@link Node}) and expressions ({@link Expr}), each with its line. */
final class Ast {
    private Ast() {}

    interface Node {
        int line();
    }

    record Text(String text, int line) implements Node {}

    record Output(Expr expr, int line) implements Node {}

    record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise, int line) implements Node {}

    record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise, int line)
            implements Node {}

    record Set(List<String> targets, Expr value, int line) implements Node {}

    record SetAttr(String name, String attr, Expr value, int line) implements Node {}

    record SetBlock(String name, List<Node> body, int line) implements Node {}

    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body, int line) implements Node {}

    record Break(int line) implements Node {}

    record Continue(int line) implements Node {}

    /** transformers' {@code {% generation %}} block: renders its body. */
    record Generation(List<Node> body, int line) implements Node {}

    interface Expr {
        int line();
    }

    record Literal(Object value, int line) implements Expr {}

    record Name(String name, int line) implements Expr {}

    record GetAttr(Expr target, String attr, int line) implements Expr {}

    record GetItem(Expr target, Expr key, int line) implements Expr {}

    record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {}

    record Call(Expr fn, List<Expr> args, List<String> kwNames, List<Expr> kwValues, int line) implements Expr {}

    record Filter(Expr target, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues, int line)
            implements Expr {}

    record Test(Expr target, String name, List<Expr> args, boolean negated, int line) implements Expr {}

    record Unary(String op, Expr operand, int line) implements Expr {}

    record Binary(String op, Expr left, Expr right, int line) implements Expr {}

    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}

    record And(Expr left, Expr right, int line) implements Expr {}

    record Or(Expr left, Expr right, int line) implements Expr {}

    record Not(Expr operand, int line) implements Expr {}

    record Conditional(Expr condition, Expr then, Expr otherwise, int line) implements Expr {}

    record ListLit(List<Expr> items, int line) implements Expr {}

    record TupleLit(List<Expr> items, int line) implements Expr {}

    record DictLit(List<Expr> keys, List<Expr> values, int line) implements Expr {}
}
