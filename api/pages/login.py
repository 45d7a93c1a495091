"""The login page."""

from fastapi import APIRouter

router = APIRouter()
