"""A small stand-in for the dashboard's subscriber API, honouring the same contract, for client tests.

Run: ``python fake_feed_server.py --dir DIR --port PORT --token TOKEN --public-key PEM``. All its state is files in
DIR (signals.jsonl, history.jsonl written by the test; callbacks.jsonl, commission.jsonl, requests.jsonl written
here), so a restart resumes exactly, like the real dashboard. Cursors are byte offsets into signals.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response

from shared.bus import JsonlLog
from shared.timeutil import from_iso, utcnow


def build_app(folder: Path, token: str, public_pem: str, *, deliver_expired: bool = False) -> FastAPI:
    """``deliver_expired`` plays a lagging or misbehaving server, so the client's own expiry check is exercised."""
    app = FastAPI()
    signals = JsonlLog(folder / "signals.jsonl")
    callbacks = JsonlLog(folder / "callbacks.jsonl")
    commission = JsonlLog(folder / "commission.jsonl")
    requests = JsonlLog(folder / "requests.jsonl")

    def auth(request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {token}":
            raise HTTPException(401, "bad token")

    def known_ids() -> set[str]:
        return {str(e.data.get("id")) for e in signals.read_all()}

    def recorded() -> set[tuple[str, str]]:
        return {(str(e.data["signal_id"]), str(e.data["callback"])) for e in callbacks.read_all()}

    @app.get("/api/signals/public-key")
    async def public_key() -> Response:
        return Response(public_pem, media_type="text/plain")

    @app.get("/api/signals/feed")
    async def feed(request: Request, cursor: str | None = None, limit: int = 100, wait: float = 25.0,
                   surface: str | None = None, sub_strategy: str | None = None) -> dict[str, Any]:
        auth(request)
        offset = int(cursor) if cursor else signals.size()
        reader = signals.reader(offset)
        deadline = asyncio.get_running_loop().time() + min(wait, 55.0)
        while True:
            out: list[dict[str, Any]] = []
            for entry in reader.read(max_records=limit):
                data = dict(entry.data)
                data.pop("ts", None)
                if from_iso(str(data["expires_at"])) <= utcnow() and not deliver_expired:
                    continue  # consumed, not delivered as actionable
                if surface and data.get("surface") != surface:
                    continue
                if sub_strategy and data.get("sub_strategy") != sub_strategy:
                    continue
                out.append(data)
            if out or asyncio.get_running_loop().time() >= deadline:
                return {"signals": out, "next_cursor": str(reader.offset)}
            await asyncio.sleep(0.05)

    @app.post("/api/signals/{signal_id}/{kind}")
    async def callback(request: Request, signal_id: str, kind: str, response: Response) -> dict[str, Any]:
        auth(request)
        body = await request.json() if await request.body() else {}
        requests.append({"signal_id": signal_id, "callback": kind, "body": body})
        if kind not in ("ack", "executed", "resolved"):
            raise HTTPException(404, "no such callback")
        if signal_id not in known_ids():
            raise HTTPException(404, "unknown signal")
        if kind == "executed" and not (isinstance(body.get("fill_price"), str) and isinstance(body.get("quantity"), int)
                                       and isinstance(body.get("fees_cents"), int)):
            raise HTTPException(422, "bad executed body")
        if kind == "resolved" and not (isinstance(body.get("pnl_cents"), int)
                                       and isinstance(body.get("resolved_at"), str)):
            raise HTTPException(422, "bad resolved body")
        done = recorded()
        if (signal_id, kind) in done:
            response.status_code = 200
            return {"status": "duplicate"}
        if kind == "resolved" and (signal_id, "executed") not in done:
            raise HTTPException(409, "resolved before executed")
        callbacks.append({"signal_id": signal_id, "callback": kind, "body": body})
        response.status_code = 201
        return {"status": "recorded"}

    @app.get("/api/signals/history")
    async def history(request: Request, since: str | None = None, surface: str | None = None,
                      cursor: str | None = None, limit: int = 200) -> dict[str, Any]:
        auth(request)
        by_id = {str(e.data["id"]): {k: v for k, v in e.data.items() if k != "ts"} for e in signals.read_all()}
        reader = JsonlLog(folder / "history.jsonl").reader(int(cursor) if cursor else 0)
        items = []
        for entry in reader.read(max_records=limit):
            item = {k: v for k, v in entry.data.items() if k != "ts"}
            signal = by_id.get(str(item.pop("signal_id")))
            if signal is None or (surface and signal["surface"] != surface):
                continue
            if since and str(signal["published_at"])[:10] < since:
                continue
            items.append({"signal": signal, "status": "resolved", **item})
        return {"items": items, "next_cursor": str(reader.offset)}

    @app.post("/api/commission")
    async def post_commission(request: Request, response: Response) -> dict[str, Any]:
        auth(request)
        body = await request.json()
        requests.append({"commission": body})
        if not isinstance(body.get("id"), str) or not isinstance(body.get("amount_cents"), int):
            raise HTTPException(422, "bad commission body")
        for entry in commission.read_all():
            if entry.data["id"] == body["id"]:
                if entry.data["amount_cents"] != body["amount_cents"]:
                    raise HTTPException(409, "different values")
                response.status_code = 200
                return {"status": "duplicate"}
        commission.append(body)
        response.status_code = 201
        return {"status": "recorded"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--public-key", type=Path, required=True)
    parser.add_argument("--deliver-expired", action="store_true")
    args = parser.parse_args()
    app = build_app(args.dir, args.token, args.public_key.read_text(), deliver_expired=args.deliver_expired)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
