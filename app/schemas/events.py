"""The domain events as they go to the broker: CloudEvents 1.0, structured JSON (the Events section of the API)."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class CloudEvent(BaseModel):
    """One event; `data` is the order or user as the event type documents it (a model or plain JSON values).
    Serialised with `model_dump_json()`: pydantic's own encoder, several times cheaper than a dict through
    `json.dumps`, and the same text."""

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(description="The event's id, also the AMQP message_id; consumers deduplicate by it.")
    source: str
    type: str = Field(description="The routing key, e.g. `shop.order.placed`.")
    time: datetime = Field(description="When the change happened, in UTC.")
    subject: uuid.UUID = Field(description="The order or user the event is about.")
    sequence: int = Field(description="The event's place among its subject's events, from 1.")
    datacontenttype: Literal["application/json"] = "application/json"
    data: Any
