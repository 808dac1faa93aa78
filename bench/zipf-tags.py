#!/usr/bin/env python3
"""Prints (owner_id,tag_id) CSV rows for the query benchmark's index.

Every owner (asset or character) 1..OWNERS gets PER distinct tags drawn
from a Zipf distribution (exponent 1) over TAGS tag ids.  Rank k is drawn
with probability proportional to 1/k; ranks are mapped to tag ids through a
fixed random permutation so that tag id order says nothing about frequency.

Only the standard library: the benchmark must run where numpy is not
installed.  A fixed seed makes every generated index the same.

usage: zipf-tags.py OWNERS PER TAGS SEED
"""
import itertools
import random
import sys


def main():
    owners, per, tags, seed = (int(a) for a in sys.argv[1:5])
    rng = random.Random(seed)
    # The permutation comes from its own generator so that it is the same
    # for the asset rows and the character rows of one index.
    tag_of_rank = list(range(1, tags + 1))
    random.Random(0x7a1f).shuffle(tag_of_rank)
    cum = list(itertools.accumulate(1.0 / k for k in range(1, tags + 1)))
    ranks = range(tags)
    choices = rng.choices
    out = sys.stdout
    chunk = []
    for owner in range(1, owners + 1):
        drawn = set(choices(ranks, cum_weights=cum, k=per))
        # The most frequent tags often repeat within one owner; draw again
        # rather than give an owner fewer tags.
        while len(drawn) < per:
            drawn.add(choices(ranks, cum_weights=cum)[0])
        # Primary-key order makes the bulk insert an append.
        for tag in sorted(tag_of_rank[r] for r in drawn):
            chunk.append(f"{owner},{tag}\n")
        if len(chunk) >= 100000:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))


if __name__ == "__main__":
    main()
