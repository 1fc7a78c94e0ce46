"""Periodic jobs of this app, installed into django-celery-beat's database scheduler.

Crontabs are in CELERY_TIMEZONE (Asia/Seoul): "02:00" is 2 a.m. in Seoul (seed 003 §5.4)."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "dining: shop open/closed status": {
        "task": "chat.refresh_shop_status",
        "schedule": crontab(),  # every minute
        "options": {"expires": 55},  # a run that waited a minute is stale: the next one is due
    },
    "dining: popularity EMA": {
        "task": "chat.update_popularity",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 280},
    },
    "dining: expire wallet coupons": {
        "task": "chat.expire_wallet_coupons",
        "schedule": crontab(hour=2, minute=0),
    },
    "dining: reset meal-card balance alerts": {
        "task": "chat.reset_balance_alerts",
        "schedule": crontab(hour=2, minute=0),
    },
    "dining: weekly coupon effectiveness": {
        "task": "chat.coupon_effectiveness",
        "schedule": crontab(hour=3, minute=0, day_of_week="sun"),
    },
}
