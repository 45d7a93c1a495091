"""Is the API able to reach Temporal?"""

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import GatewayDep
from api.problems import Problem

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    temporal: str


@router.get("/healthz", response_model=Health, responses={503: {"model": Problem}})
async def healthz(gateway: GatewayDep) -> Health:
    """200 when Temporal answers, 503 when it does not."""
    return Health(status="ok", temporal=await gateway.health())
