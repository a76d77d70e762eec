import factory

from apps.accounts.models import User
from apps.tenancy.models import Membership, Role

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def persist_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


# --- tenant data (create them with the workspace's schema set, e.g. the `tenant` fixture) ---
class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "contacts.Contact"

    first_name = factory.Sequence(lambda n: f"Contact{n}")
    phone = factory.Sequence(lambda n: f"+1555{7_000_000 + n:07d}")
    custom_fields = factory.LazyFunction(dict)


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    """A template WhatsApp accepted (it started a conversation with its number)."""

    class Meta:
        model = "messaging.Message"

    direction = "outbound"
    kind = "template"
    template_name = "order_confirmation"
    template_language = "en_US"
    phone = factory.Sequence(lambda n: f"+1555{8_000_000 + n:07d}")
    status = "accepted"
    status_rank = 1
    provider = "cloud"
    wamid = factory.Sequence(lambda n: f"wamid.factory-{n}")
    origin = "api"
