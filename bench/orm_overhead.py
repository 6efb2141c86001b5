"""What one statement of the checkout costs through each layer of SQLAlchemy: the balance's guarded
UPDATE ... RETURNING (``services.balance``) run with the store bound, in one open transaction, four
ways in turn:

* the app's way: the ORM-enabled ``update(User)`` through the session (``do_orm_execute`` adds the
  store's criteria, ``tenancy.py``);
* the same UPDATE written on the ``users`` Table (Core) with its own ``store_id`` condition,
  through the session;
* that Core statement through the session's connection (no session event);
* the SQL string through the DBAPI cursor.

The checkout runs four ORM-enabled UPDATE/DELETE statements and two ``text()`` ones; this is what
separates the app's checkout from ``stack_floor.py``'s Core row, statement by statement (the flushes
of the new rows are the rest).

    .venv/bin/python bench/orm_overhead.py [--db sqlite|postgresql|both] [--n 3000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import logging
import time

from _common import backends, bench_app
from checkout import seed
from sqlalchemy import bindparam, text, update


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="both")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"{'database':<11} {'how the statement is run':<48} {'us each':>8}")
    for backend in backends(args.db):
        with bench_app(backend) as app:
            store_id = seed(app, 10)[0]
            from extensions import db
            from models import Store, User
            from services import balance
            from tenancy import tenant_scope

            with app.app_context():
                store = db.session.get(Store, store_id)
                user_id = db.session.scalar(text("SELECT id FROM users WHERE username = 'bencher'"))
                users = User.__table__
                core = (update(users).where(users.c.id == bindparam("user_id"), users.c.store_id == bindparam("s"))
                        .values(balance=users.c.balance + bindparam("amount")).returning(users.c.balance))
                sql = "UPDATE users SET balance = balance + {p} WHERE id = {p} AND store_id = {p} RETURNING balance"
                sql = sql.format(p="?" if backend == "sqlite" else "%s")
                with tenant_scope(store):
                    connection = db.session.connection()
                    cursor = connection.connection.dbapi_connection.cursor()
                    orm_params = {"user_id": user_id, "amount": 1}
                    core_params = {**orm_params, "s": store_id}

                    def raw():
                        cursor.execute(sql, (1, user_id, store_id))
                        return cursor.fetchone()

                    ways = {
                        "ORM update(User) through the session (the app)":
                            lambda: db.session.execute(balance._CREDIT, orm_params).first(),
                        "Core update(users) through the session":
                            lambda: db.session.execute(core, core_params).first(),
                        "Core update(users) through the connection": lambda: connection.execute(core, core_params).first(),
                        "the SQL through the DBAPI cursor": raw,
                    }
                    best = dict.fromkeys(ways, float("inf"))
                    for step in ways.values():
                        for _ in range(200):
                            step()
                    for _ in range(args.rounds):
                        for label, step in ways.items():
                            started = time.perf_counter()
                            for _ in range(args.n):
                                step()
                            best[label] = min(best[label], (time.perf_counter() - started) / args.n * 1e6)
                    db.session.rollback()
                for label, us in best.items():
                    print(f"{backend:<11} {label:<48} {us:>8.1f}")


if __name__ == "__main__":
    main()
