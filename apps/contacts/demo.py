"""Demo contacts for `seed_demo`: groups, sources and N contacts, created through the services
(so they carry events like any other contact). Running it again tops up to N, never duplicates."""

from __future__ import annotations

import random

from django.db import transaction
from django_tenants.utils import schema_context

from apps.contacts.models import Contact, Group, Source, SourceKind
from apps.contacts.services import contact_create, group_add_contacts, group_create, source_create

FIRST = [
    "Anurag",
    "Lara",
    "Priya",
    "Rahul",
    "Sofia",
    "Mei",
    "Omar",
    "Elena",
    "Kofi",
    "Aisha",
    "Diego",
    "Hannah",
    "Ravi",
    "Yuki",
    "Noah",
    "Fatima",
    "Liam",
    "Ananya",
    "Jonas",
    "Zara",
]
LAST = [
    "Sharma",
    "Croft",
    "Patel",
    "Gupta",
    "Rossi",
    "Chen",
    "Haddad",
    "Petrova",
    "Mensah",
    "Khan",
    "Garcia",
    "Mueller",
    "Iyer",
    "Tanaka",
    "Smith",
    "Ali",
    "Murphy",
    "Rao",
    "Berg",
]
COMPANIES = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Retail",
    "Hooli",
    "Pied Piper",
    "Soylent",
    "Wonka Foods",
]
TITLES = ["Founder", "Buyer", "Marketing lead", "Store manager", "CTO", "Owner", "Analyst"]
STATUSES = ["lead", "customer", "active"]
TAGS = ["india", "usa", "europe", "saas", "retail", "wholesale", "vip", "newsletter"]
GROUPS = [
    ("VIP customers", "Bought twice or more"),
    ("Newsletter", "Asked for the monthly news"),
    ("Leads", "Interested, not yet customers"),
]
SOURCES = [("Website sign-up form", SourceKind.FORM), ("Trade show 2026", SourceKind.MANUAL)]
# The sandbox provider fails or withholds reads by a number's last four digits (DESIGN.md).
SANDBOX_ENDINGS = ["0001", "0002", "0003", "0004"]  # fmt: skip


PLANS = ["free", "pro"]


def _demo_phone(n: int) -> str:
    """Distinct valid Indian mobiles; the first four end in the sandbox's special digits so
    demos show each outcome, and no other ends in them."""
    if n < len(SANDBOX_ENDINGS):
        return f"+91987654{SANDBOX_ENDINGS[n]}"
    national = f"{n:08d}"
    if national[-4:] in SANDBOX_ENDINGS:
        # 0004 → 9004 under another prefix, so the number stays distinct from every other.
        return f"+9196{national[:4]}9{national[-3:]}"
    return f"+9197{national}"


def seed_contacts_demo(*, tenant, count: int = 200) -> int:
    """Make sure `tenant` has the demo groups and sources and at least `count` contacts;
    returns how many contacts were added."""
    with schema_context(tenant.schema_name), transaction.atomic():
        groups = [
            Group.objects.filter(name=name).first() or group_create(name=name, description=text)
            for name, text in GROUPS
        ]
        sources = [
            Source.objects.filter(name=name).first() or source_create(name=name, kind=kind)
            for name, kind in SOURCES
        ]
        existing = Contact.objects.filter(archived_at__isnull=True).count()
        rng = random.Random(42 + existing)
        added = []
        for n in range(existing, count):
            phone = _demo_phone(n)
            if Contact.objects.filter(phone=phone, archived_at__isnull=True).exists():
                continue
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = rng.choice(COMPANIES)
            contact = contact_create(
                data={
                    "first_name": first,
                    "last_name": last,
                    "phone": phone,
                    "email": f"{first}.{last}{n}@{company.split()[0]}.test".lower(),
                    "company": company,
                    "job_title": rng.choice(TITLES),
                    "status": rng.choice(STATUSES),
                    "tags": rng.sample(TAGS, k=rng.randint(0, 3)),
                    "custom_fields": {
                        "order_id": f"A{1000 + n}",
                        "plan": rng.choice(["free", "pro"]),
                    },
                    "source_id": str(rng.choice(sources).pk),
                }
            )
            added.append(contact)
        for group in groups:
            members = [c.pk for c in added if rng.random() < 0.35]
            for start in range(0, len(members), 1000):
                group_add_contacts(group=group, contact_ids=members[start : start + 1000])
        return len(added)
