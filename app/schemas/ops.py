from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="`ok` when every check passes; `degraded` when only an optional dependency (Redis) fails, "
        "answered with 200; `unavailable` (503) when the database fails or is not at the latest migration."
    )
    checks: dict[str, Literal["ok", "degraded", "unavailable", "schema_outdated"]] = Field(
        description="Each dependency checked, by name: `database` always (`schema_outdated` when it is not at "
        "the latest migration), `redis` when configured."
    )
