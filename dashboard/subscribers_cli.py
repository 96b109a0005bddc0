"""``tbot subscribers add NAME | list | revoke NAME_OR_ID``: manage subscriber tokens."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.subscribers import SubscriberError, add_subscriber, open_book, revoke_subscriber
from shared.timeutil import to_iso


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-dir", type=Path, default=Path("logs"), help="the fleet's logs directory")
    # Also accepted after the action (``add NAME --log-dir X``); SUPPRESS keeps the top-level value otherwise.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-dir", type=Path, default=argparse.SUPPRESS, help="the fleet's logs directory")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[common], help="register a subscriber and print its token once")
    add.add_argument("name")
    actions.add_parser("list", parents=[common], help="list subscribers (never their tokens)")
    revoke = actions.add_parser("revoke", parents=[common], help="revoke a subscriber's token (takes effect at once)")
    revoke.add_argument("name_or_id")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "add":
            subscriber, token = add_subscriber(args.log_dir, args.name)
            print(f"added subscriber {subscriber.name} ({subscriber.subscriber_id})")
            print("token (shown once; only its hash is stored; send it as 'Authorization: Bearer <token>'):")
            print(token)
            return 0
        if args.action == "revoke":
            subscriber = revoke_subscriber(args.log_dir, args.name_or_id)
            print(f"revoked subscriber {subscriber.name} ({subscriber.subscriber_id})")
            return 0
        book, _ = open_book(args.log_dir)
        if not book.by_id:
            print("no subscribers")
        for sub in book.by_id.values():
            state = "active" if sub.active else f"revoked {to_iso(sub.revoked_at)}" if sub.revoked_at else ""
            print(f"{sub.subscriber_id}  {sub.name:<24} added {to_iso(sub.added_at)}  {state}")
        return 0
    except SubscriberError as exc:
        print(f"tbot subscribers: {exc}", file=sys.stderr)
        return 1
