from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"] = Field(description="`ok` when every check passes.")
    checks: dict[str, Literal["ok", "unavailable"]] = Field(description="Each dependency checked, by name.")
