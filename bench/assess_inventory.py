#!/usr/bin/env python3
"""Writes a synthetic model inventory for `flopline assess`: N models in chains of derivatives.

Each chain starts with a pretrained model (compute spread across the SB 1047, SB 53 / RAISE and EU
lines, so every status occurs) and continues with fine-tunes, copies, post-training modifications
and distillations, by the same developer or another, with a release event on some models and an
incident on a few. Deterministic for a given seed.

  bench/assess_inventory.py --models 1000000 --format jsonl --out /tmp/inv-1m.jsonl
  bench/assess_inventory.py --models 10000 --format toml --out /tmp/inv-10k.toml
"""
import argparse
import json
import random

DERIVATIONS = ["fine-tune", "fine-tune", "copy", "post-training-modification", "distillation"]


def models(n, chain, seed):
    rng = random.Random(seed)
    for i in range(n):
        link = i % chain
        dev = f"dev-{(i // chain) % 997}"
        m = {"id": f"m{i}", "developer": dev, "developer_revenue_usd": float(rng.choice([1e6, 2e8, 6e8, 3e9])),
             "foundation_model": rng.random() < 0.8}
        if link == 0:
            flop = 10 ** rng.uniform(23.5, 26.8)
            m["training"] = [{"kind": "pretrain", "start": f"2026-0{rng.randint(1, 9)}-0{rng.randint(1, 9)}",
                              "flop": flop, "cost_usd": round(flop / 1e18 * rng.uniform(0.8, 1.6), 2)}]
        else:
            d = rng.choice(DERIVATIONS)
            m["base"] = f"m{i - 1}"
            m["derivation"] = d
            if rng.random() < 0.3:
                m["developer"] = f"other-{rng.randint(0, 99)}"
            if d != "copy":
                kind = "fine-tune" if d == "fine-tune" else "rl" if d == "post-training-modification" else "other"
                flop = 10 ** rng.uniform(21, 25.7)
                m["training"] = [{"kind": kind, "start": f"2026-1{rng.randint(0, 2)}-1{rng.randint(0, 9)}",
                                  "flop": flop, "cost_usd": round(flop / 1e18 * rng.uniform(0.8, 1.6), 2)}]
        events = []
        if rng.random() < 0.3:
            events.append({"model": m["id"], "kind": "released", "at": f"2026-11-0{rng.randint(1, 9)}T12:00:00Z"})
        if rng.random() < 0.01:
            events.append({"model": m["id"], "kind": "incident-discovered", "at": "2026-11-10T08:00:00Z"})
        yield m, events


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-":
        return v  # a TOML date
    if isinstance(v, str) and v.endswith("Z") and "T" in v:
        return v  # a TOML date-time
    return json.dumps(v)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", type=int, required=True)
    p.add_argument("--chain", type=int, default=10, help="models per chain of derivatives")
    p.add_argument("--format", choices=["toml", "jsonl"], required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with open(a.out, "w") as out:
        pending_events = []
        for m, events in models(a.models, a.chain, a.seed):
            if a.format == "jsonl":
                out.write(json.dumps({"model": m}, separators=(",", ":")) + "\n")
                for e in events:
                    out.write(json.dumps({"event": e}, separators=(",", ":")) + "\n")
                continue
            out.write("[[model]]\n")
            for k, v in m.items():
                if k != "training":
                    out.write(f"{k} = {toml_value(v)}\n")
            for s in m.get("training", []):
                out.write("[[model.training]]\n")
                for k, v in s.items():
                    out.write(f"{k} = {toml_value(v)}\n")
            pending_events.extend(events)
        for e in pending_events:
            out.write("[[event]]\n")
            for k, v in e.items():
                out.write(f"{k} = {toml_value(v)}\n")


if __name__ == "__main__":
    main()
