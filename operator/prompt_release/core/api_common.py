"""What the models of every kind share: the camelCase base model, names, hashes, conditions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"

PromptName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL)]
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
Hash = Annotated[str, Field(pattern=HASH_PATTERN, max_length=71)]


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are the API server's job."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Condition(ApiModel):
    """A kstatus-style condition (the shape of metav1.Condition)."""

    type: str = Field(max_length=316)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(max_length=1024)
    message: str = Field(max_length=32768)
    last_transition_time: str
    observed_generation: int | None = None
