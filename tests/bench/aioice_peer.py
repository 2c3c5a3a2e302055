#!/usr/bin/env python3
"""One aioice (aiortc's ICE library) agent for the connect-time comparison in
bench_ice_nat.py. Prints its credentials and candidates as one JSON line (aioice gathers
everything before it can signal: no trickle), reads the peer's the same way on stdin, connects,
and prints {"event":"connected"} with the selected pair."""
import argparse
import asyncio
import json
import sys

import aioice


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--controlling", action="store_true")
    ap.add_argument("--stun")
    ap.add_argument("--turn")
    ap.add_argument("--turn-transport", default="udp")
    ap.add_argument("--turn-user")
    ap.add_argument("--turn-pass")
    a = ap.parse_args()

    def hp(s):
        host, port = s.rsplit(":", 1)
        return host, int(port)

    conn = aioice.Connection(ice_controlling=a.controlling,
                             stun_server=hp(a.stun) if a.stun else None,
                             turn_server=hp(a.turn) if a.turn else None,
                             turn_username=a.turn_user, turn_password=a.turn_pass,
                             turn_transport=a.turn_transport, use_ipv6=False)
    await conn.gather_candidates()
    print(json.dumps({"ufrag": conn.local_username, "pwd": conn.local_password,
                      "candidates": [c.to_sdp() for c in conn.local_candidates]}), flush=True)
    remote = json.loads(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    conn.remote_username = remote["ufrag"]
    conn.remote_password = remote["pwd"]
    for c in remote["candidates"]:
        await conn.add_remote_candidate(aioice.Candidate.from_sdp(c))
    await conn.add_remote_candidate(None)
    try:
        await asyncio.wait_for(conn.connect(), 60)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"event": "failed", "error": repr(e)}), flush=True)
        return 1
    pair = conn._nominated.get(1)
    print(json.dumps({"event": "connected",
                      "local": pair.local_candidate.type if pair else None,
                      "remote": pair.remote_candidate.type if pair else None}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until told to stop
    await conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
