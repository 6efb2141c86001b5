"""Background jobs: their bodies (``emails.py``, ``schedule.py``) and the RQ entry point (``runner.py``).

Services queue a job by its dotted name with ``transactions.enqueue_after_commit`` (for example
``enqueue_after_commit("jobs.emails.send_order_email", order.id, queue="emails")``), so that
``jobs -> services`` stays the only direction between the two. A job runs inside the scope of
the store that was bound when it was queued, and commits once (``transactions.execute``).
"""
