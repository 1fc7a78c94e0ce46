"""Thin Celery tasks of the dining app: each calls one service (schedules in chat/schedules.py)."""

import logging
from dataclasses import asdict

from celery import shared_task

from chat.services import business_hours, coupons, dining_jobs

logger = logging.getLogger(__name__)


@shared_task(name="chat.refresh_shop_status")
def refresh_shop_status() -> int:
    return business_hours.refresh_shop_status()


@shared_task(name="chat.update_popularity")
def update_popularity() -> int:
    return dining_jobs.update_popularity()


@shared_task(name="chat.expire_wallet_coupons")
def expire_wallet_coupons() -> int:
    return coupons.expire_wallet_coupons()


@shared_task(name="chat.reset_balance_alerts")
def reset_balance_alerts() -> int:
    return coupons.reset_balance_alerts()


@shared_task(name="chat.coupon_effectiveness")
def coupon_effectiveness() -> list[dict]:
    report = [asdict(effect) for effect in dining_jobs.coupon_effectiveness()]
    for effect in report:
        logger.info("coupon effectiveness: %s", effect)
    return report
