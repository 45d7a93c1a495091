"""The driver page."""

from fastapi import APIRouter

router = APIRouter()
