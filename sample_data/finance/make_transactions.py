"""Generate a SYNTHETIC card transaction log with labelled fraud episodes.

No real customer data is used and nothing is downloaded: every value is drawn from the
seeded random model below. Each account has its own spending profile (typical amount,
preferred merchant categories, channels, activity rate, time of day). A small share of the
accounts is compromised and shows fraud episodes whose patterns are only visible against
the account's own history: bursts of transactions within minutes, amounts 5-10x the
account's typical amount (but ordinary across all accounts), and merchant categories or
countries the account has never used. See README.md for the details.

The rows are written SHUFFLED (not in time order): sort by ``timestamp`` yourself.

Usage::

    python sample_data/finance/make_transactions.py --n-accounts 300 --days 60 --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_OUT = Path(__file__).resolve().parent / "transactions.csv"

START = np.datetime64("2024-03-01T00:00:00", "s")

# Card-present / online merchant categories: (popularity, amount multiplier).
CATEGORIES = {
    "grocery": (0.26, 1.0),
    "restaurant": (0.18, 0.8),
    "fuel": (0.10, 1.4),
    "transport": (0.12, 0.5),
    "retail": (0.12, 1.5),
    "electronics": (0.04, 3.0),
    "travel": (0.03, 4.0),
    "entertainment": (0.08, 0.9),
    "health": (0.07, 1.2),
}
CASH = "cash"  # ATM withdrawals; amount multiplier 2, rounded to 10
CASH_MULT = 2.0

# Normal behaviour.
MEAN_RATE_PER_DAY = 1.2  # average transactions per account and day (gamma distributed)
P_LEGIT_FOLLOW_UP = 0.04  # 1-3 more legitimate payments within minutes
P_LEGIT_NEW_CATEGORY = 0.03  # a legitimate payment outside the usual categories
P_LEGIT_BIG = 0.01  # a legitimate purchase 4-10x the usual amount
P_TRAVELLER = 0.35  # accounts with one trip abroad
P_FOREIGN_ONLINE_ACCOUNT = 0.35  # accounts that sometimes pay foreign web shops

# Fraud.
P_COMPROMISED = 0.18  # share of accounts with fraud
P_SECOND_EPISODE = 0.25
EPISODE_EXTRA_MEAN = 5.0  # episode length = 2 + Poisson(EPISODE_EXTRA_MEAN) transactions
P_FRAUD_BURST = 0.75  # episode is a burst (gaps of minutes) rather than spread over hours
EPISODE_GAP_MINUTES = 4.0  # mean gap between fraudulent transactions within a burst
SLOW_GAP_HOURS = 2.0  # mean gap between fraudulent transactions of a non-burst episode
P_FRAUD_HIGH_AMOUNT = 0.8  # episode uses amounts 5-10x the account's typical amount
FRAUD_AMOUNT_FACTOR = (5.0, 10.0)  # times the account's typical amount
P_FRAUD_NEW_CATEGORY = 0.65  # episode uses categories the account never used
P_FRAUD_FOREIGN = 0.25  # episode is abroad
P_CARD_TEST = 0.3  # episode starts with a tiny "card test" payment
FRAUD_CHANNEL = {"online": 0.55, "pos": 0.38, "atm": 0.07}
FRAUD_CATEGORY_WEIGHT = {  # fraudsters favour resellable goods, but not by much
    "grocery": 0.8,
    "restaurant": 0.6,
    "fuel": 0.8,
    "transport": 0.6,
    "retail": 1.4,
    "electronics": 1.5,
    "travel": 1.2,
    "entertainment": 1.0,
    "health": 0.6,
}


def _time_of_day(rng: np.random.Generator, peak_hour: float, size: int) -> np.ndarray:
    """Seconds after midnight around the account's peak hour, mostly between 6 and 24 h."""
    hours = peak_hour + rng.normal(0, 3.5, size)
    hours = np.where(hours < 6.0, hours + rng.uniform(0, 18, size), hours)
    return np.round((hours % 24.0) * 3600.0).astype(int)


def make_transactions(n_accounts: int = 300, days: int = 60, random_state: int = 0) -> pd.DataFrame:
    """Return a synthetic card transaction log (shuffled rows) with the label ``is_fraud``.

    Columns: transaction_id (numbered in time order), account_id, timestamp (ISO),
    amount, merchant_category, channel, country, is_fraud (1 = fraudulent).
    """
    if days < 3:
        raise ValueError("days must be at least 3 (fraud starts after two days of history)")
    rng = np.random.default_rng(random_state)
    n_acc = int(n_accounts)
    horizon = int(days) * 86400
    cat_names = np.array(list(CATEGORIES))
    cat_pop = np.array([p for p, _ in CATEGORIES.values()])
    cat_pop = cat_pop / cat_pop.sum()
    cat_mult = {k: m for k, (_, m) in CATEGORIES.items()} | {CASH: CASH_MULT}
    fraud_w = np.array([FRAUD_CATEGORY_WEIGHT[c] for c in cat_names]) * cat_pop

    rows: list[tuple] = []  # (account, seconds, amount, category, channel, country, is_fraud)
    for a in range(n_acc):
        # Spending profile.
        scale = float(np.exp(rng.normal(np.log(30.0), 0.6)))
        rate = rng.gamma(2.0, MEAN_RATE_PER_DAY / 2.0)
        k = int(rng.integers(3, 7))
        usual = rng.choice(len(cat_names), size=k, replace=False, p=cat_pop)
        usual_p = rng.dirichlet(np.ones(k))
        p_atm = rng.beta(1.0, 12.0)
        p_online = rng.beta(2.0, 4.0) * (1 - p_atm)
        peak = rng.normal(14.0, 3.0)
        p_foreign_online = (
            rng.uniform(0.02, 0.15) if rng.random() < P_FOREIGN_ONLINE_ACCOUNT else 0.0
        )
        trip = None
        if rng.random() < P_TRAVELLER:
            trip_len = int(rng.integers(3, 15)) * 86400
            trip_start = int(rng.integers(0, max(1, horizon - trip_len)))
            trip = (trip_start, trip_start + trip_len)

        # Legitimate transactions.
        n_tx = rng.poisson(rate * days)
        day = rng.integers(0, days, n_tx)
        t = day * 86400 + _time_of_day(rng, peak, n_tx)
        follow = rng.random(n_tx) < P_LEGIT_FOLLOW_UP
        n_follow = rng.integers(1, 4, follow.sum())
        base = np.repeat(t[follow], n_follow)
        t = np.concatenate([t, base + rng.integers(30, 1200, n_follow.sum())])
        t = np.sort(t[t < horizon])
        for s in t:
            u = rng.random()
            channel = "atm" if u < p_atm else ("online" if u < p_atm + p_online else "pos")
            if channel == "atm":
                category = CASH
            elif rng.random() < P_LEGIT_NEW_CATEGORY:
                category = str(rng.choice(cat_names, p=cat_pop))
            else:
                category = str(cat_names[rng.choice(usual, p=usual_p)])
            amount = scale * cat_mult[category] * rng.lognormal(0, 0.55)
            if category != CASH and rng.random() < P_LEGIT_BIG:
                amount *= rng.uniform(4, 10)
            on_trip = trip is not None and trip[0] <= s < trip[1]
            foreign = (on_trip and rng.random() < 0.85) or (
                channel == "online" and rng.random() < p_foreign_online
            )
            rows.append((a, int(s), amount, category, channel, foreign, 0))

        # Fraud episodes.
        if rng.random() >= P_COMPROMISED:
            continue
        n_episodes = 1 + int(rng.random() < P_SECOND_EPISODE)
        for _ in range(n_episodes):
            m = 2 + rng.poisson(EPISODE_EXTRA_MEAN)
            start = int(rng.integers(2 * 86400, horizon - 3600))
            burst = rng.random() < P_FRAUD_BURST
            high = rng.random() < P_FRAUD_HIGH_AMOUNT
            novel = rng.random() < P_FRAUD_NEW_CATEGORY
            foreign = bool(rng.random() < P_FRAUD_FOREIGN)
            if not (burst or high or novel or foreign):  # at least one pattern
                burst = True
            mean_gap = EPISODE_GAP_MINUTES * 60 if burst else SLOW_GAP_HOURS * 3600
            gaps = np.maximum(rng.exponential(mean_gap, m - 1), 15)
            times = start + np.concatenate([[0], np.cumsum(gaps)]).astype(int)
            used = set(cat_names[usual])
            if novel:
                pool = [i for i, c in enumerate(cat_names) if c not in used]
            else:
                pool = list(usual)
            w = fraud_w[pool] / fraud_w[pool].sum()
            ep_cats = cat_names[rng.choice(pool, size=min(2, len(pool)), replace=False, p=w)]
            card_test = rng.random() < P_CARD_TEST
            for j, s in enumerate(times):
                channel = str(rng.choice(list(FRAUD_CHANNEL), p=list(FRAUD_CHANNEL.values())))
                category = CASH if channel == "atm" else str(rng.choice(ep_cats))
                if card_test and j == 0:
                    amount = rng.uniform(1.0, 5.0)
                elif high:
                    amount = scale * rng.uniform(*FRAUD_AMOUNT_FACTOR)
                else:
                    amount = scale * cat_mult[category] * rng.lognormal(0.3, 0.55)
                rows.append((a, int(s), amount, category, channel, foreign, 1))

    acc, sec, amount, category, channel, foreign, fraud = map(np.array, zip(*rows, strict=True))
    amount = np.where(category == CASH, np.maximum(np.round(amount, -1), 10.0), amount)
    amount = np.round(np.maximum(amount, 0.5), 2)
    df = pd.DataFrame(
        {
            "account_id": [f"ACC{i + 1:04d}" for i in acc],
            "timestamp": START + sec.astype("timedelta64[s]"),
            "amount": amount,
            "merchant_category": category,
            "channel": channel,
            "country": np.where(foreign, "foreign", "home"),
            "is_fraud": fraud.astype(int),
        }
    )
    df = df[df["timestamp"] < START + np.timedelta64(horizon, "s")]
    df = df.sort_values(["timestamp", "account_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "transaction_id", [f"T{i:06d}" for i in range(1, len(df) + 1)])
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    # Shuffle: the toolkit must put the rows in time order itself.
    order = rng.permutation(len(df))
    return df.iloc[order].reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-accounts", type=int, default=300, help="number of accounts")
    parser.add_argument("--days", type=int, default=60, help="length of the log in days")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    args = parser.parse_args(argv)
    df = make_transactions(n_accounts=args.n_accounts, days=args.days, random_state=args.seed)
    df.to_csv(args.out, index=False, lineterminator="\n")
    print(
        f"wrote {len(df)} transactions of {df['account_id'].nunique()} accounts to {args.out} "
        f"(fraud rate {df['is_fraud'].mean():.4f})"
    )


if __name__ == "__main__":
    main()
