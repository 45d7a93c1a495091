"""The shop's screens: HTML rendered by the API for the people at the oven, on the road and at home.

Each page reads what the workflows record in the store (never a Temporal query) and keeps itself current by
asking for its live part again every second; its buttons call the same HTTP API the outside uses.
"""

from fastapi import APIRouter

from api.pages import driver, kitchen, login, track

router = APIRouter(include_in_schema=False)
for page in (login, kitchen, driver, track):
    router.include_router(page.router)
