"""Synthetic pretraining corpus for rectify-tiny.

Documents:
  * worked arithmetic: addition (carries explained digit by digit), subtraction (borrows),
    small multiplication, two-step word problems;
  * short English text about numbers ("Seven is an odd number. It comes right after six.").
A share of the arithmetic documents is rendered in ChatML (user asks, assistant answers with the
worked solution ending in "Answer: <n>").  Plain documents end with <|endoftext|>; chat turns end
with <|im_end|> (and the whole chat document is followed by <|endoftext|> as a separator).

Operands are mostly 1-2 digits; 3-digit problems are a small share (learnable but not mastered).

Usage: corpus.py OUT_DIR [--docs N] [--heldout N] [--chat-share 0.4]   -> OUT_DIR/train.txt, OUT_DIR/heldout.txt
Documents inside the files are separated by the line "<|doc|>" (a file-format marker only, never
part of the text).
"""
import argparse
import json
import os
import random

EOT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
DOC_SEP = "\n<|doc|>\n"

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
PLACES = ["ones", "tens", "hundreds", "thousands", "ten thousands"]


def words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return TENS[t] + ("" if o == 0 else "-" + ONES[o])
    if n < 1000:
        h, r = divmod(n, 100)
        return ONES[h] + " hundred" + ("" if r == 0 else " and " + words(r))
    th, r = divmod(n, 1000)
    return words(th) + " thousand" + ("" if r == 0 else (" and " if r < 100 else " ") + words(r))


def digits_rev(n):
    return [int(c) for c in str(n)][::-1]


# ---------------------------------------------------------------- worked solutions (pretraining style)

def solve_add(a, b):
    da, db = digits_rev(a), digits_rev(b)
    lines, carry = [], 0
    for i in range(max(len(da), len(db))):
        x = da[i] if i < len(da) else 0
        y = db[i] if i < len(db) else 0
        s = x + y + carry
        expr = f"{x} + {y}" + (f" + {carry}" if carry else "")
        place = PLACES[i].capitalize()
        if s >= 10:
            lines.append(f"Add the {PLACES[i]}: {expr} = {s}. Write {s % 10}, carry 1.")
            carry = 1
        else:
            lines.append(f"Add the {PLACES[i]}: {expr} = {s}. Write {s}.")
            carry = 0
        del place
    if carry:
        lines.append(f"Write the carry 1 in the {PLACES[max(len(da), len(db))]}.")
    r = a + b
    lines.append(f"So {a} + {b} = {r}.")
    lines.append(f"Answer: {r}")
    return "\n".join(lines)


def solve_sub(a, b):
    assert a >= b
    da, db = digits_rev(a), digits_rev(b)
    lines, borrow = [], 0
    for i in range(len(da)):
        x = da[i] - borrow
        y = db[i] if i < len(db) else 0
        if i >= len(db) and borrow == 0:
            if any(d for d in da[i:]):
                lines.append(f"Bring down the {PLACES[i]}: {x}.")
            continue
        if borrow and da[i] == 0:
            x = 9
            lines.append(f"Subtract the {PLACES[i]}: 0 is less than 1, so borrow 1 from the {PLACES[i + 1]}. "
                         f"10 - 1 = 9. 9 - {y} = {9 - y}. Write {9 - y}.")
            continue
        pre = f"{da[i]} - 1 = {x} after the borrow. " if borrow else ""
        if x < y:
            lines.append(f"Subtract the {PLACES[i]}: {pre}{x} is less than {y}, so borrow 1 from the "
                         f"{PLACES[i + 1]}. {x + 10} - {y} = {x + 10 - y}. Write {x + 10 - y}.")
            borrow = 1
        else:
            lines.append(f"Subtract the {PLACES[i]}: {pre}{x} - {y} = {x - y}. Write {x - y}.")
            borrow = 0
    r = a - b
    lines.append(f"So {a} - {b} = {r}.")
    lines.append(f"Answer: {r}")
    return "\n".join(lines)


def solve_mul(a, b):
    """a (1-3 digits) times b (1 digit)."""
    if a < 10:
        r = a * b
        return f"{a} x {b} = {r}.\nSo {a} x {b} = {r}.\nAnswer: {r}"
    da = digits_rev(a)
    lines, carry = [], 0
    for i, x in enumerate(da):
        p = x * b
        s = p + carry
        if carry:
            expr = f"{x} x {b} = {p}, plus the carry {carry} is {s}."
        else:
            expr = f"{x} x {b} = {s}."
        if s >= 10 and i < len(da) - 1:
            lines.append(f"Multiply the {PLACES[i]}: {expr} Write {s % 10}, carry {s // 10}.")
            carry = s // 10
        else:
            lines.append(f"Multiply the {PLACES[i]}: {expr} Write {s}.")
            carry = 0
    r = a * b
    lines.append(f"So {a} x {b} = {r}.")
    lines.append(f"Answer: {r}")
    return "\n".join(lines)


# ---------------------------------------------------------------- operand sampling

def n_digits(rng, k):
    return rng.randint(0 if k == 1 else 10 ** (k - 1), 10 ** k - 1)


def pick_sizes(rng, table):
    r, acc = rng.random(), 0.0
    for w, sizes in table:
        acc += w
        if r < acc:
            return sizes
    return table[-1][1]


ADD_SIZES = [(0.14, (1, 1)), (0.20, (2, 1)), (0.54, (2, 2)), (0.06, (3, 2)), (0.06, (3, 3))]
SUB_SIZES = [(0.14, (1, 1)), (0.22, (2, 1)), (0.54, (2, 2)), (0.05, (3, 2)), (0.05, (3, 3))]
MUL_SIZES = [(0.40, (1, 1)), (0.54, (2, 1)), (0.06, (3, 1))]


def add_problem(rng):
    ka, kb = pick_sizes(rng, ADD_SIZES)
    a, b = n_digits(rng, ka), n_digits(rng, kb)
    if rng.random() < 0.5:
        a, b = b, a
    return a, b


def sub_problem(rng):
    ka, kb = pick_sizes(rng, SUB_SIZES)
    a, b = n_digits(rng, ka), n_digits(rng, kb)
    if a < b:
        a, b = b, a
    return a, b


def mul_problem(rng):
    ka, _ = pick_sizes(rng, MUL_SIZES)
    a = n_digits(rng, ka) if ka > 1 else rng.randint(1, 9)
    b = rng.randint(2, 9)
    return a, b


ADD_Q = ["What is {a} + {b}?", "Compute {a} + {b}.", "Add {a} and {b}.", "What is {a} plus {b}?",
         "Calculate {a} + {b}.", "Find the sum of {a} and {b}.", "{a} + {b} = ?"]
SUB_Q = ["What is {a} - {b}?", "Compute {a} - {b}.", "Subtract {b} from {a}.", "What is {a} minus {b}?",
         "Calculate {a} - {b}.", "Find the difference of {a} and {b}.", "{a} - {b} = ?"]
MUL_Q = ["What is {a} x {b}?", "Compute {a} x {b}.", "Multiply {a} by {b}.", "What is {a} times {b}?",
         "Calculate {a} x {b}.", "Find the product of {a} and {b}.", "{a} x {b} = ?"]

NAMES = ["Tom", "Anna", "Sam", "Mia", "Leo", "Ava", "Ben", "Zoe", "Max", "Lily", "Omar", "Nina"]
ITEMS = ["apples", "marbles", "stickers", "books", "cookies", "pencils", "coins", "cards", "shells",
         "stamps"]


def word_problem(rng, steps=2, big=False):
    """Two-step (or more) word problem; returns (question, solution, answer)."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    hi = 999 if big else 60
    x = rng.randint(3, hi)
    q = [f"{name} has {x} {item}."]
    sol, cur = [], x
    for s in range(steps):
        kind = rng.random()
        if kind < 0.5 or cur < 4:
            y = rng.randint(2, hi)
            q.append(rng.choice([f"{'Then' if s else 'She'} gets {y} more.",
                                 f"A friend gives {name} {y} more {item}.",
                                 f"{name} finds {y} more {item}."]))
            sol.append(f"Step {s + 1}: {name} gets {y} more, so {cur} + {y} = {cur + y}.")
            cur += y
        else:
            y = rng.randint(1, cur - 1)
            q.append(rng.choice([f"{name} gives away {y} {item}.", f"{name} loses {y} {item}.",
                                 f"Then {name} uses {y} {item}."]))
            sol.append(f"Step {s + 1}: {name} has {y} fewer, so {cur} - {y} = {cur - y}.")
            cur -= y
    q[1] = q[1].replace("She gets", f"{name} gets")
    q.append(f"How many {item} does {name} have now?")
    sol.append(f"{name} has {cur} {item} now.")
    sol.append(f"Answer: {cur}")
    return " ".join(q), "\n".join(sol), cur


def arithmetic(rng):
    r = rng.random()
    if r < 0.34:
        a, b = add_problem(rng)
        return rng.choice(ADD_Q).format(a=a, b=b), f"{a} + {b}", solve_add(a, b)
    if r < 0.62:
        a, b = sub_problem(rng)
        return rng.choice(SUB_Q).format(a=a, b=b), f"{a} - {b}", solve_sub(a, b)
    if r < 0.82:
        a, b = mul_problem(rng)
        if rng.random() < 0.3 and a >= 10:
            q = rng.choice(MUL_Q).format(a=b, b=a)  # commuted question, solved as a x b
        else:
            q = rng.choice(MUL_Q).format(a=a, b=b)
        return q, f"{a} x {b}", solve_mul(a, b)
    q, sol, _ = word_problem(rng)
    return q, None, sol


# ---------------------------------------------------------------- number facts text

def number_text(rng):
    n = rng.randint(0, 100) if rng.random() < 0.85 else rng.randint(100, 999)
    w = words(n)
    W = w[0].upper() + w[1:]
    s = []
    facts = [
        lambda: f"{W} is {'an even' if n % 2 == 0 else 'an odd'} number.",
        lambda: f"It comes right after {words(n - 1)}." if n > 0 else "It is the smallest whole number.",
        lambda: f"The number after {w} is {words(n + 1)}.",
        lambda: f"{W} is written as {n}.",
        lambda: f"{n} has {n // 10 % 10} tens and {n % 10} ones." if n < 100 else
        f"{n} has {n // 100} hundreds, {n // 10 % 10} tens and {n % 10} ones.",
        lambda: f"{n} + 1 = {n + 1}.",
        lambda: f"Double {w} is {words(2 * n)}, which is {2 * n}.",
        lambda: f"{n} is {'greater' if n > 50 else 'less' if n < 50 else 'equal'} than fifty." if n != 50 else
        "It is exactly half of one hundred.",
        lambda: f"{W} minus one is {words(n - 1)}." if n > 0 else "Zero plus zero is zero.",
        lambda: f"{n} is {'a multiple of ten' if n % 10 == 0 else 'not a multiple of ten'}.",
    ]
    first = facts[0]()
    s.append(first)
    for f in rng.sample(facts[1:], rng.randint(2, 4)):
        s.append(f())
    if rng.random() < 0.3:
        m = rng.randint(0, 100)
        s.append(f"{words(m).capitalize()} is {'bigger' if m > n else 'smaller' if m < n else 'the same as'} "
                 f"{'than ' if m != n else ''}{w}.".replace("the same as than", "the same as"))
    return " ".join(s)


def counting_text(rng):
    start = rng.randint(0, 90)
    step = rng.choice([1, 1, 2, 5, 10])
    seq = [start + i * step for i in range(rng.randint(4, 8))]
    if rng.random() < 0.5:
        return f"Counting by {words(step)}s from {start}: " + ", ".join(map(str, seq)) + "."
    return f"Counting by {words(step)}s: " + ", ".join(words(x) for x in seq if x < 1000) + "."


# ---------------------------------------------------------------- documents

SYSTEMS = ["You are a helpful math tutor.", "You are a careful assistant. Show your work.",
           "Solve the problem step by step."]


def chatml(messages, add_generation_prompt=False):
    out = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    if add_generation_prompt:
        out += f"{IM_START}assistant\n"
    return out


def document(rng, chat_share=0.4):
    r = rng.random()
    if r < 0.14:
        return number_text(rng) + EOT
    if r < 0.18:
        return counting_text(rng) + EOT
    q, expr, sol = arithmetic(rng)
    if rng.random() < chat_share:
        msgs = []
        if rng.random() < 0.2:
            msgs.append({"role": "system", "content": rng.choice(SYSTEMS)})
        msgs.append({"role": "user", "content": q})
        msgs.append({"role": "assistant", "content": sol})
        return chatml(msgs) + EOT
    head = f"Problem: {expr}\n" if expr is not None and rng.random() < 0.6 else f"Problem: {q}\n"
    return head + sol + EOT


def generate(n, seed, chat_share=0.4):
    rng = random.Random(seed)
    return [document(rng, chat_share) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--docs", type=int, default=120000)
    ap.add_argument("--heldout", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--chat-share", type=float, default=0.4,
                    help="share of arithmetic documents rendered in ChatML (0: the corpus never shows the chat format)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    train = generate(args.docs, args.seed, args.chat_share)
    held = generate(args.heldout, args.seed + 1, args.chat_share)
    for name, docs in (("train.txt", train), ("heldout.txt", held)):
        with open(os.path.join(args.out_dir, name), "w") as f:
            f.write(DOC_SEP.join(docs))
    stats = {"train_docs": len(train), "heldout_docs": len(held),
             "train_chars": sum(map(len, train)), "heldout_chars": sum(map(len, held)), "seed": args.seed,
             "chat_share": args.chat_share}
    with open(os.path.join(args.out_dir, "corpus-stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


def read_docs(path):
    with open(path) as f:
        return f.read().split(DOC_SEP)


if __name__ == "__main__":
    main()
