"""The track page."""

from fastapi import APIRouter

router = APIRouter()
