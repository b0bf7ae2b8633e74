"""Read receipts from a sync: who has read up to which event, as plain values.

Receipts arrive as ephemeral ``m.receipt`` events; nio parses them. Only public ``m.read``
receipts are visible to the bot (``m.read.private`` ones never leave the reader's server
account), which is why anything measured with them is a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from nio import ReceiptEvent, SyncResponse


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    room_id: str
    event_id: str
    user_id: str
    ts: int


def read_receipts(response: SyncResponse) -> list[ReadReceipt]:
    found = []
    for room_id, info in response.rooms.join.items():
        for event in info.ephemeral:
            if not isinstance(event, ReceiptEvent):
                continue
            for receipt in event.receipts:
                if receipt.receipt_type == "m.read" and isinstance(receipt.timestamp, int):
                    found.append(
                        ReadReceipt(room_id, receipt.event_id, receipt.user_id, receipt.timestamp)
                    )
    return found
