from apps.contacts.demo import seed_contacts_demo
from apps.contacts.models import Contact, Group, Source


def test_the_demo_seed_adds_groups_sources_and_tops_up_contacts(in_acme):
    assert seed_contacts_demo(tenant=in_acme, count=12) == 12
    assert seed_contacts_demo(tenant=in_acme, count=12) == 0
    assert seed_contacts_demo(tenant=in_acme, count=15) == 3
    assert Contact.objects.count() == 15
    assert Group.objects.count() == 3 and Source.objects.count() == 2
    endings = sorted(p[-4:] for p in Contact.objects.values_list("phone", flat=True))
    assert endings[:4] == ["0001", "0002", "0003", "0004"]
    assert len([e for e in endings if e in {"0001", "0002", "0003", "0004"}]) == 4
