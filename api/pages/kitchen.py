"""The kitchen page."""

from fastapi import APIRouter

router = APIRouter()
