from celery import shared_task


@shared_task(name="config.echo")
def echo(payload: dict) -> dict:
    """Returns its payload: proves a task round-trips through the broker and a worker."""
    return payload
