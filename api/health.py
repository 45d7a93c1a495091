"""Is the API able to reach Temporal?"""

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel
from temporalio.client import Client

from api.problems import Problem, unavailable

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    temporal: str


@router.get("/healthz", response_model=Health, responses={503: {"model": Problem}})
async def healthz(request: Request) -> Health:
    """200 when Temporal answers, 503 when it does not."""
    client: Client = request.app.state.client
    try:
        healthy = await client.service_client.check_health(timeout=timedelta(seconds=2))
    except Exception as err:
        raise unavailable(f"Temporal at {client.service_client.config.target_host} is unreachable: {err}") from None
    if not healthy:
        raise unavailable("Temporal reports that it is not serving")
    return Health(status="ok", temporal=client.service_client.config.target_host)
