#!/usr/bin/env python3
"""Write a Claude Code log tree (`<out>/projects/<project>/<session>.jsonl`), deterministic for a given --seed.

The shape of real session logs (tests/fixtures/claude_code): each session alternates user turns (a prompt or
a tool result) and assistant responses; Claude Code writes one line per content block of a response (text,
thinking, tool_use), each repeating the response's `message.id`, `requestId` and usage, so about 43% of the
assistant lines repeat a message already written; now and then a block's usage has grown (streaming). A few
sessions are sub-agent side chains that replay some of their parent's assistant lines. Models, cache reads and
writes are mixed as a coding agent's are.

  python3 gen_claude_code.py OUT --files 400 --lines 330000
"""

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = [("claude-sonnet-4-20250514", 0.62), ("claude-opus-4-1-20250805", 0.18), ("claude-3-5-haiku-20241022", 0.2)]
WORDS = "the a function test file error fix returns value list config module import path line build run".split()


def pick(rng, weighted):
    r, acc = rng.random(), 0.0
    for item, share in weighted:
        acc += share
        if r <= acc:
            return item
    return weighted[-1][0]


def dump(obj):
    return json.dumps(obj, separators=(",", ":"))  # compact, as Claude Code writes (and ccusage expects)


def text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--lines", type=int, default=330_000)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--start", default="2026-09-01")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    start = datetime.fromisoformat(a.start).replace(tzinfo=UTC)
    per_file = a.lines // a.files
    replayable = []  # (session's assistant lines) a side chain may replay
    for f in range(a.files):
        project = a.out / "projects" / f"-home-dev-project-{f % 23:02d}"
        project.mkdir(parents=True, exist_ok=True)
        session = f"{rng.getrandbits(128):032x}"
        session_id = f"{session[:8]}-{session[8:12]}-{session[12:16]}-{session[16:20]}-{session[20:32]}"
        t = start + timedelta(seconds=rng.randrange(0, 60 * 86400))
        lines, assistant = [], []
        side_chain = f % 17 == 16 and replayable
        if side_chain:
            lines.extend(rng.sample(replayable, min(len(replayable), 20)))
        common = {
            "cwd": f"/home/dev/project-{f % 23:02d}",
            "sessionId": session_id,
            "version": "1.0.98",
            "userType": "external",
        }
        parent = None
        while len(lines) < per_file:
            t += timedelta(seconds=rng.randrange(2, 90))
            uuid = f"{rng.getrandbits(128):032x}"
            user_text = (
                [{"type": "text", "text": text(rng, rng.randrange(5, 60))}]
                if rng.random() < 0.3
                else [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{rng.getrandbits(48):012x}",
                        "content": text(rng, 80),
                    }
                ]
            )
            lines.append(
                dump(
                    {
                        "parentUuid": parent,
                        "isSidechain": bool(side_chain),
                        **common,
                        "type": "user",
                        "message": {"role": "user", "content": user_text},
                        "uuid": uuid,
                        "timestamp": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    }
                )
            )
            parent = uuid
            model = pick(rng, MODELS)
            msg_id = f"msg_01{rng.getrandbits(96):024x}"
            request_id = f"req_011C{rng.getrandbits(96):024x}"
            usage = {
                "input_tokens": rng.choice([4, 8, 10, rng.randrange(1, 3000)]),
                "cache_creation_input_tokens": rng.choice([0, rng.randrange(100, 20_000)]),
                "cache_read_input_tokens": rng.randrange(0, 120_000),
                "output_tokens": rng.randrange(1, 2000),
                "service_tier": "standard",
            }
            blocks = rng.choices([1, 2, 3, 4], weights=[48, 36, 11, 5])[0]
            for b in range(blocks):
                t += timedelta(milliseconds=rng.randrange(50, 3000))
                kind = "tool_use" if b == blocks - 1 and rng.random() < 0.7 else rng.choice(["text", "thinking"])
                content = (
                    {
                        "type": "tool_use",
                        "id": f"toolu_{rng.getrandbits(48):012x}",
                        "name": "Bash",
                        "input": {"command": text(rng, 8)},
                    }
                    if kind == "tool_use"
                    else {"type": kind, kind: text(rng, rng.randrange(10, 120))}
                )
                if b and rng.random() < 0.08:  # a later block of a streamed message reports more output
                    usage = {**usage, "output_tokens": usage["output_tokens"] + rng.randrange(1, 200)}
                uuid = f"{rng.getrandbits(128):032x}"
                line = dump(
                    {
                        "parentUuid": parent,
                        "isSidechain": bool(side_chain),
                        **common,
                        "message": {
                            "id": msg_id,
                            "type": "message",
                            "role": "assistant",
                            "model": model,
                            "content": [content],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": usage,
                        },
                        "requestId": request_id,
                        "type": "assistant",
                        "uuid": uuid,
                        "timestamp": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    }
                )
                lines.append(line)
                assistant.append(line)
                parent = uuid
        if not side_chain:
            replayable = assistant[-200:]
        (project / f"{session_id}.jsonl").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
