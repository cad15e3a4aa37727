#!/usr/bin/python3
"""SQLAlchemy 1.4 ORM peer of libs/orm/bench/orm_bench.cpp (issue 6).

Same schema and data as the C++ benchmark (SQLite in memory, 10,000 users with
one post each), the same five operations through the ORM session, each one a
statement of its own as in the C++ cases:

  select by primary key   session.get(User, id), then expunge (a fresh object each time)
  insert                  session.add(User(...)); commit  -> the new key
  update all columns      ORM-enabled UPDATE ... WHERE id = ?; commit
  delete by key           ORM-enabled DELETE ... WHERE id = ?; commit
  join                    select(User.name, Post.title).join(...).where(User.id == id)

Prints one line per case: the median of --runs timed loops in CPU ns per operation
(process time, so that a busy machine does not inflate it).
Run with Debian's interpreter (/usr/bin/python3, python3-sqlalchemy 1.4.46):

  /usr/bin/python3 bench/orm/sqlalchemy_bench.py [--runs 3] [--iterations 20000]
"""

import argparse
import statistics
import sys
import time

import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String, create_engine, delete, select, text, update
from sqlalchemy.orm import Session, declarative_base

ROWS = 10_000
DELETE_ROWS = 100_000

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
    age = Column(Integer)
    email = Column(String, nullable=False)


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    title = Column(String, nullable=False)


def seed_sql(count, first_id):
    return (
        f"WITH RECURSIVE n(i) AS (SELECT {first_id} UNION ALL SELECT i + 1 FROM n "
        f"WHERE i < {first_id + count - 1}) INSERT INTO users (id, name, age, email) "
        "SELECT i, 'user' || i, i % 90, 'u' || i || '@example.com' FROM n"
    )


def fresh_session(extra_users=0):
    engine = create_engine("sqlite://", future=True)
    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(text(seed_sql(ROWS, 1)))
        c.execute(text("INSERT INTO posts (id, user_id, title) SELECT id, id, 'post of ' || name FROM users"))
        if extra_users:
            c.execute(text(seed_sql(extra_users, ROWS + 1)))
    return Session(engine, future=True, expire_on_commit=False)


def case_select(s, n, first):
    start = time.process_time_ns()
    for i in range(n):
        u = s.get(User, i % ROWS + 1)
        s.expunge(u)
    return time.process_time_ns() - start


def case_insert(s, n, first):
    start = time.process_time_ns()
    for _ in range(n):
        u = User(name="new user", age=33, email="new@example.com")
        s.add(u)
        s.commit()
        key = u.id
        s.expunge(u)
    assert key is not None
    return time.process_time_ns() - start


def case_update(s, n, first):
    start = time.process_time_ns()
    for i in range(n):
        s.execute(
            update(User)
            .where(User.id == i % ROWS + 1)
            .values(name="renamed", age=44, email="renamed@example.com")
            .execution_options(synchronize_session=False)
        )
        s.commit()
    return time.process_time_ns() - start


def case_delete(s, n, first):
    # `first`: how many of the extra rows earlier loops deleted already
    start = time.process_time_ns()
    for i in range(n):
        s.execute(
            delete(User).where(User.id == ROWS + 1 + first + i).execution_options(synchronize_session=False)
        )
        s.commit()
    return time.process_time_ns() - start


def case_join(s, n, first):
    start = time.process_time_ns()
    for i in range(n):
        rows = s.execute(
            select(User.name, Post.title).join(Post, Post.user_id == User.id).where(User.id == i % ROWS + 1)
        ).all()
    assert rows
    return time.process_time_ns() - start


CASES = [
    ("select by primary key", case_select, 0),
    ("insert", case_insert, 0),
    ("update all columns by key", case_update, 0),
    ("delete by key", case_delete, DELETE_ROWS),
    ("join users x posts by user id", case_join, 0),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    if 1000 + args.runs * args.iterations > DELETE_ROWS:
        sys.exit(f"--runs x --iterations must stay under {DELETE_ROWS - 1000} (rows to delete)")
    print(f"SQLAlchemy {sqlalchemy.__version__}, Python {sys.version.split()[0]}, sqlite in memory")
    for label, fn, extra in CASES:
        s = fresh_session(extra)
        warm_up = min(1000, args.iterations)
        fn(s, warm_up, 0)  # statement cache, compiled SQL
        samples = [fn(s, args.iterations, warm_up + r * args.iterations) / args.iterations for r in range(args.runs)]
        s.close()
        print(f"{label:32s} {statistics.median(samples):10.0f} ns/op   (runs: "
              + ", ".join(f"{x:.0f}" for x in samples) + ")")


if __name__ == "__main__":
    main()
