from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="`ok` when every check passes; `degraded` when only an optional dependency (Redis) fails, "
        "answered with 200; `unavailable` (503) when the database fails."
    )
    checks: dict[str, Literal["ok", "degraded", "unavailable"]] = Field(
        description="Each dependency checked, by name: `database` always, `redis` when configured."
    )
