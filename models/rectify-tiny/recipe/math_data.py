"""Fine-tuning data for later work: data/math/{train,heldout,ood}.jsonl (seeded).

Each line: {"prompt": user question (no template), "completion": worked solution ending in
"Answer: <n>", "answer": "<n>"}.

In-distribution (train/heldout): mostly 3-digit addition/subtraction, 2-3 digit x 1 digit
multiplication and two-step word problems with numbers up to 250 - the range where the base model
(pretrained mostly on 1-2 digit operands) is imperfect.
OOD ("far"): 4-digit addition/subtraction, 3-4 digit x 1 digit, three-step word problems with numbers up to 999.
Near OOD: the operations and number ranges pretraining showed most (1-2 digit operands, two-step word problems with
numbers up to 60) asked in phrasings, orders and formats that neither pretraining nor the training set uses
(number words, the question first, new verbs); the solutions are worked as in the training set.
Valid: 60 more in-distribution problems for choosing hyperparameters (never used to report results).

Arithmetic completions use the pretraining style ("Add the ones: 7 + 5 = 12. Write 2, carry 1."), on
larger numbers than pretraining mostly saw. Word problems are where fine-tuning has most to teach: pretraining
solved them in one line per step with small numbers (base exact match on these: 0%); here every step is
worked column by column ("Step 1: Ben gets 210 more, so we add 198 + 210." then the columns), the method
the model already masters for single operations.

Usage: math_data.py OUT_DIR [--seed 2024]   -> train, heldout, ood, near_ood, valid .jsonl
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
    return corpus.solve_add(a, b)


def sol_sub(a, b):
    return corpus.solve_sub(a, b)


def sol_mul(a, b):
    return corpus.solve_mul(a, b)


def work(solution):
    """The column work of a solution and its "So ..." line, without the final "Answer:" line."""
    return solution.split("\n")[:-1]


def word(rng, steps, hi):
    name, item = rng.choice(corpus.NAMES), rng.choice(corpus.ITEMS)
    cur = rng.randint(hi // 4, hi)
    q = [f"{name} has {cur} {item}."]
    sol = [f"We follow the {item} one step at a time."]
    for s in range(steps):
        if rng.random() < 0.5 or cur < 4:
            y = rng.randint(2, hi)
            q.append(rng.choice([f"A friend gives {name} {y} more {item}.", f"{name} finds {y} more {item}."]))
            sol.append(f"Step {s + 1}: {name} gets {y} more, so we add {cur} + {y}.")
            sol.extend(work(sol_add(cur, y)))
            cur += y
        else:
            y = rng.randint(1, cur - 1)
            q.append(rng.choice([f"{name} gives away {y} {item}.", f"{name} loses {y} {item}."]))
            sol.append(f"Step {s + 1}: {name} has {y} fewer, so we subtract {cur} - {y}.")
            sol.extend(work(sol_sub(cur, y)))
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


NEAR_ADD_Q = ["How much is {a} and {b} together?", "Start with {a} and add {b}. What do you get?",
              "What number is {b} more than {a}?", "Work out the total of {a} and {b}.", "Tell me the sum: {a} and {b}.",
              "If you put {a} and {b} together, how many is that?"]
NEAR_SUB_Q = ["How much is left when you take {b} from {a}?", "What number is {b} less than {a}?",
              "Take {b} away from {a}. What is left?", "By how much is {a} bigger than {b}?",
              "Start with {a} and remove {b}. What remains?"]
NEAR_MUL_Q = ["What do {b} groups of {a} make?", "How much is {b} lots of {a}?", "Work out {a} multiplied by {b}.",
              "If each of {b} boxes holds {a}, how many are there in all?"]
NEAR_GAIN = ["{name} buys {y} more {item}.", "{name} receives {y} {item} as a gift.", "Later {name} picks up {y} {item}."]
NEAR_LOSS = ["{name} eats {y} of the {item}.", "{name} drops {y} {item}.", "{name} sells {y} {item}."]


def spelled(n):
    return corpus.words(n)


def near_word(rng):
    """A two-step word problem in pretraining's number range, told in a new order and with new verbs."""
    name, item = rng.choice(corpus.NAMES), rng.choice(corpus.ITEMS)
    cur = start = rng.randint(10, 60)
    events = []
    sol = [f"We follow the {item} one step at a time."]
    for s in range(2):
        if rng.random() < 0.5 or cur < 4:
            y = rng.randint(2, 60)
            events.append(rng.choice(NEAR_GAIN).format(name=name, y=y, item=item))
            sol.append(f"Step {s + 1}: {name} gets {y} more, so we add {cur} + {y}.")
            sol.extend(work(sol_add(cur, y)))
            cur += y
        else:
            y = rng.randint(1, cur - 1)
            events.append(rng.choice(NEAR_LOSS).format(name=name, y=y, item=item))
            sol.append(f"Step {s + 1}: {name} has {y} fewer, so we subtract {cur} - {y}.")
            sol.extend(work(sol_sub(cur, y)))
            cur -= y
    q = [f"How many {item} will {name} have at the end?", f"At first {name} has {start} {item}."] + events
    sol.append(f"{name} has {cur} {item} now.")
    sol.append(f"Answer: {cur}")
    return " ".join(q), "\n".join(sol), cur


def near_example(rng):
    """Seen operations and ranges (1-2 digit operands) in unseen phrasings and formats."""
    r = rng.random()
    words_format = rng.random() < 0.3
    fmt = (lambda n: spelled(n)) if words_format else str
    if r < 0.3:
        a, b = corpus.n_digits(rng, 2), corpus.n_digits(rng, rng.choice([1, 2]))
        if rng.random() < 0.5:
            a, b = b, a
        return rng.choice(NEAR_ADD_Q).format(a=fmt(a), b=fmt(b)), sol_add(a, b), a + b
    if r < 0.6:
        a, b = corpus.n_digits(rng, 2), corpus.n_digits(rng, rng.choice([1, 2]))
        a, b = max(a, b), min(a, b)
        return rng.choice(NEAR_SUB_Q).format(a=fmt(a), b=fmt(b)), sol_sub(a, b), a - b
    if r < 0.8:
        a, b = corpus.n_digits(rng, 2), rng.randint(2, 9)
        return rng.choice(NEAR_MUL_Q).format(a=fmt(a), b=fmt(b)), sol_mul(a, b), a * b
    return near_word(rng)


def make(rng, n, ood, seen, gen=None):
    out = []
    while len(out) < n:
        q, c, ans = gen(rng) if gen else example(rng, ood)
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
    # drawn after the original three sets, so that those stay byte for byte what they were
    sets["near_ood"] = make(rng, 100, False, seen, near_example)
    sets["valid"] = make(rng, 60, False, seen)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, rows in sets.items():
        with open(os.path.join(args.out_dir, f"{name}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        print(name, len(rows))


if __name__ == "__main__":
    main()
