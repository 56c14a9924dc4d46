"""The 2022 reference case as test data: incident, policy, accounts, ledger, a claim body."""

from __future__ import annotations

from typing import Any

INCIDENT = """
[incident]
id = "kakao-2022-10-15"
title = "판교 데이터센터 화재"
timezone = "Asia/Seoul"
official_window = { start = "2022-10-15T15:30:00+09:00", end = "2022-10-20T23:00:00+09:00" }

[[windows]]
service = "messenger"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T01:31:00+09:00"

[[windows]]
service = "music"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T07:00:00+09:00"

[[windows]]
service = "payments"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T08:00:00+09:00"
"""

POLICY = """
[policy]
id = "kakao-2022-claims"
version = 1
name = "2022 damage reports"
currency = "KRW"
timezone = "Asia/Seoul"

[[rules]]
id = "music-web"
kind = "fixed"
when = { services = ["music"], paid = true }
extension = "3d"

[[rules]]
id = "small-business"
kind = "loss_brackets"
when = { segments = ["small_business"] }
source = "computed"
baseline = { from = "2022-09-03", to = "2022-10-08" }
outage_week = "2022-10-15"
brackets = [ { up_to = "300000", amount = "30000" }, { up_to = "500000", amount = "50000" } ]
"""

SUBSCRIPTIONS = ",".join(("subscription_id", "account_id", "segment", "service", "plan", "paid", "fee",
                          "currency", "billing_period", "channel", "start", "end")) + """
s-1,acct-paid,individual,music,premium,true,10900,KRW,month,web,2022-01-01T00:00:00+09:00,
s-2,acct-free,individual,messenger,free,false,0,KRW,month,other,2020-01-01T00:00:00+09:00,
s-3,acct-shop,small_business,payments,merchant,false,0,KRW,month,other,2021-05-01T00:00:00+09:00,
s-4,acct-old,individual,music,premium,true,10900,KRW,month,web,2021-01-01T00:00:00+09:00,2022-06-30T00:00:00+09:00
"""

LEDGER = """account_id,subscription_id,service,rule_id,counted_seconds,kind,amount,unit,currency,code
acct-paid,s-1,music,music-web,55800,extension,3,day,,FIXED
"""

def claim_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_id": "kakao-2022-10-15", "claimant_kind": "individual", "name": "김민수",
        "email": "minsu@example.com", "phone": "010-1234-5678", "account_id": "acct-free",
        "service": "messenger", "category": "missed_communication",
        "start": "2022-10-15T16:00:00+09:00", "end": "2022-10-15T20:00:00+09:00",
        "description": "면접 안내 메일을 받지 못했습니다", "amount": "0", "currency": "KRW",
        "consent": True, "payout_account": "110-123-456789",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}
