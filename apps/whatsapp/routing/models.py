from django.db import models


class PhoneNumberRoute(models.Model):
    """Which workspace owns a WhatsApp phone number id. Lives in the public schema because
    Meta's webhooks name only the phone number id: the receiver must find the tenant before it
    can enter the tenant's schema."""

    phone_number_id = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="phone_number_routes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.phone_number_id} → {self.tenant_id}"
