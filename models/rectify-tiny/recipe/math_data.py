"""Fine-tuning data for later work: data/math/{train,heldout,ood}.jsonl (seeded).

Each line: {"prompt": user question (no template), "completion": worked solution ending in
"Answer: <n>", "answer": "<n>"}.

In-distribution (train/heldout): mostly 3-digit addition/subtraction, 2-3 digit x 1 digit
multiplication and two-step word problems with numbers up to 250 - the range where the base model
(pretrained mostly on 1-2 digit operands) is imperfect.
OOD: 4-digit addition/subtraction, 3-4 digit x 1 digit, three-step word problems with numbers up to 999.

The completion style is the pretraining style made terser and column-named ("Ones: 7 + 5 = 12.
Write 2, carry 1."), opened by one planning line, so that fine-tuning has something to teach beyond
the final answers.

Usage: math_data.py OUT_DIR [--seed 2024]
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
from corpus import PLACES, digits_rev  # noqa: E402

COLS = [p.capitalize() for p in PLACES]


def sol_add(a, b):
    da, db = digits_rev(a), digits_rev(b)
    lines = [f"We add {a} and {b} column by column, starting from the ones."]
    carry = 0
    for i in range(max(len(da), len(db))):
        x = da[i] if i < len(da) else 0
        y = db[i] if i < len(db) else 0
        s = x + y + carry
        expr = f"{x} + {y}" + (f" + {carry}" if carry else "")
        if s >= 10:
            lines.append(f"{COLS[i]}: {expr} = {s}. Write {s % 10}, carry 1.")
            carry = 1
        else:
            lines.append(f"{COLS[i]}: {expr} = {s}. Write {s}.")
            carry = 0
    if carry:
        lines.append(f"{COLS[max(len(da), len(db))]}: write the carry 1.")
    lines.append(f"So {a} + {b} = {a + b}.")
    lines.append(f"Answer: {a + b}")
    return "\n".join(lines)


def sol_sub(a, b):
    da, db = digits_rev(a), digits_rev(b)
    lines = [f"We subtract {b} from {a} column by column, starting from the ones."]
    borrow = 0
    for i in range(len(da)):
        y = db[i] if i < len(db) else 0
        if i >= len(db) and borrow == 0:
            if any(da[i:]):
                lines.append(f"{COLS[i]}: bring down {da[i]}.")
            continue
        x = da[i] - borrow
        if borrow and da[i] == 0:
            lines.append(f"{COLS[i]}: 0 is less than 1, so borrow 1 from the {PLACES[i + 1]}. 10 - 1 = 9. "
                         f"9 - {y} = {9 - y}. Write {9 - y}.")
            continue
        pre = f"{da[i]} - 1 = {x} after the borrow. " if borrow else ""
        if x < y:
            lines.append(f"{COLS[i]}: {pre}{x} is less than {y}, so borrow 1 from the {PLACES[i + 1]}. "
                         f"{x + 10} - {y} = {x + 10 - y}. Write {x + 10 - y}.")
            borrow = 1
        else:
            lines.append(f"{COLS[i]}: {pre}{x} - {y} = {x - y}. Write {x - y}.")
            borrow = 0
    lines.append(f"So {a} - {b} = {a - b}.")
    lines.append(f"Answer: {a - b}")
    return "\n".join(lines)


def sol_mul(a, b):
    da = digits_rev(a)
    lines = [f"We multiply {a} by {b} one digit at a time, starting from the ones."]
    carry = 0
    for i, x in enumerate(da):
        p = x * b
        s = p + carry
        expr = f"{x} x {b} = {p}, plus the carry {carry} is {s}." if carry else f"{x} x {b} = {s}."
        if s >= 10 and i < len(da) - 1:
            lines.append(f"{COLS[i]}: {expr} Write {s % 10}, carry {s // 10}.")
            carry = s // 10
        else:
            lines.append(f"{COLS[i]}: {expr} Write {s}.")
            carry = 0
    lines.append(f"So {a} x {b} = {a * b}.")
    lines.append(f"Answer: {a * b}")
    return "\n".join(lines)


def word(rng, steps, hi):
    name, item = rng.choice(corpus.NAMES), rng.choice(corpus.ITEMS)
    cur = rng.randint(hi // 4, hi)
    q = [f"{name} has {cur} {item}."]
    sol = [f"We follow the {item} one step at a time."]
    for s in range(steps):
        if rng.random() < 0.5 or cur < 4:
            y = rng.randint(2, hi)
            q.append(rng.choice([f"A friend gives {name} {y} more {item}.", f"{name} finds {y} more {item}."]))
            sol.append(f"Step {s + 1}: {cur} + {y} = {cur + y}.")
            cur += y
        else:
            y = rng.randint(1, cur - 1)
            q.append(rng.choice([f"{name} gives away {y} {item}.", f"{name} loses {y} {item}."]))
            sol.append(f"Step {s + 1}: {cur} - {y} = {cur - y}.")
            cur -= y
    q.append(f"How many {item} does {name} have now?")
    sol.append(f"{name} has {cur} {item} now.")
    sol.append(f"Answer: {cur}")
    return " ".join(q), "\n".join(sol), cur


def num(rng, k):
    return rng.randint(10 ** (k - 1), 10 ** k - 1)


def example(rng, ood):
    r = rng.random()
    if r < 0.35:
        if ood:
            a, b = num(rng, 4), num(rng, rng.choice([3, 4]))
        else:
            a, b = num(rng, 3), num(rng, rng.choice([2, 3, 3]))
        if rng.random() < 0.5:
            a, b = b, a
        return rng.choice(corpus.ADD_Q).format(a=a, b=b), sol_add(a, b), a + b
    if r < 0.65:
        if ood:
            a, b = num(rng, 4), num(rng, rng.choice([3, 4]))
        else:
            a, b = num(rng, 3), num(rng, rng.choice([2, 3, 3]))
        a, b = max(a, b), min(a, b)
        return rng.choice(corpus.SUB_Q).format(a=a, b=b), sol_sub(a, b), a - b
    if r < 0.85:
        a = num(rng, rng.choice([3, 4]) if ood else rng.choice([2, 3]))
        b = rng.randint(2, 9)
        return rng.choice(corpus.MUL_Q).format(a=a, b=b), sol_mul(a, b), a * b
    return word(rng, 3 if ood else 2, 999 if ood else 250)


def make(rng, n, ood, seen):
    out = []
    while len(out) < n:
        q, c, ans = example(rng, ood)
        if q in seen:
            continue
        seen.add(q)
        assert c.endswith(f"Answer: {ans}")
        out.append({"prompt": q, "completion": c, "answer": str(ans)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    seen = set()
    sets = {"train": make(rng, 400, False, seen), "heldout": make(rng, 100, False, seen),
            "ood": make(rng, 100, True, seen)}
    os.makedirs(args.out_dir, exist_ok=True)
    for name, rows in sets.items():
        with open(os.path.join(args.out_dir, f"{name}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        print(name, len(rows))


if __name__ == "__main__":
    main()
