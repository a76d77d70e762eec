"""Public API for contacts, groups and sources (`/api/v1/public/...`). Views are thin: they
read the request, call a selector or service and render; errors are raised, never formatted."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.pagination import page_params, paginated_response, pagination_envelope
from apps.api.schema import paginated
from apps.api.views import PublicApiView
from apps.contacts import selectors, services
from apps.contacts.api import serializers as s
from apps.contacts.selectors import ContactFilters
from apps.core.errors import ApplicationError

READ = ["contacts:read"]
WRITE = ["contacts:write"]

CONTACT_EXAMPLE = {
    "id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "first_name": "Anurag",
    "last_name": "Sharma",
    "phone": "+919999999999",
    "email": "anurag@acme.test",
    "company": "Acme Corp",
    "job_title": "Founder",
    "status": "lead",
    "tags": ["india", "saas"],
    "custom_fields": {"plan": "starter"},
    "source_id": None,
    "created_at": "2026-05-12T08:00:00Z",
    "updated_at": "2026-05-25T11:14:33Z",
}
PAGE_EXAMPLE = {
    "page": 1,
    "limit": 20,
    "total_items": 134,
    "total_pages": 7,
    "has_next": True,
    "has_prev": False,
}
GROUP_EXAMPLE = {
    "id": "0b8f3f5e-6a51-4c55-9d0e-5a1f2f9a7c11",
    "name": "VIP customers",
    "description": "Bought twice or more",
    "contact_count": 42,
    "created_at": "2026-05-12T08:00:00Z",
    "updated_at": "2026-05-12T08:00:00Z",
}
SOURCE_EXAMPLE = {
    "id": "6c0f0a42-9a1e-4f1c-8d35-3b7c0b1f1e22",
    "name": "Website sign-up form",
    "kind": "form",
    "contact_count": 310,
    "created_at": "2026-05-12T08:00:00Z",
}


def _error(status: int, code: str, description: str) -> OpenApiResponse:
    return OpenApiResponse(
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={
                    "error": {"status": status, "code": code, "message": description},
                    "request_id": "req_0123456789ab",
                },
                response_only=True,
                status_codes=[str(status)],
            )
        ],
    )


AUTH_ERRORS = {
    401: _error(401, "invalid_api_key", "Missing or invalid API key."),
    403: _error(403, "insufficient_scope", "The key lacks the scope this operation needs."),
    429: _error(429, "rate_limited", "Rate limit hit; see Retry-After."),
}
NOT_FOUND = {404: _error(404, "not_found", "No such object in this workspace.")}
INVALID = {
    400: _error(400, "invalid_request", "Malformed JSON or a required field is missing."),
    422: _error(422, "validation_error", "A field is invalid; see details."),
}
CONFLICT = {409: _error(409, "conflict", "The phone number belongs to another live contact.")}


def _page(example: dict[str, Any]) -> dict[str, Any]:
    return {"data": [example], "pagination": PAGE_EXAMPLE}


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise ApplicationError("The request body must be a JSON object.", code="invalid_request")
    return data


def _require(data: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if name not in data]
    if missing:
        raise ApplicationError(
            f"{missing[0]} is required.",
            code="invalid_request",
            status=400,
            details=[{"field": name, "message": f"{name} is required"} for name in missing],
        )


def _text_param(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(
            f"{name} must be a string.",
            code="validation_error",
            status=422,
            details=[{"field": name, "message": f"{name} must be a string"}],
        )
    return value.strip()


def _contact_page(request: Request, filters: ContactFilters) -> Response:
    """`paginated_response` of the contact list with ContactSerializer, the same body from
    rows read without model instances (see `selectors.contact_page`)."""
    page, limit = page_params(request)
    data, total = selectors.contact_page(filters=filters, page=page, limit=limit)
    pagination = pagination_envelope(page=page, limit=limit, total_items=total)
    return Response({"data": data, "pagination": pagination})


CONTACT_LIST_PARAMETERS = [
    OpenApiParameter(
        "search", str, description="Matches first_name, last_name, email, company; phone prefix."
    ),
    OpenApiParameter("status", str, description="Exact match."),
    OpenApiParameter("tag", str, description="Contacts carrying this tag."),
    OpenApiParameter("group_id", str, description="Members of this group."),
    OpenApiParameter("source_id", str, description="Contacts from this source."),
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("limit", int, description="1 to 100, default 20."),
]


class ContactListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_list",
        summary="List contacts",
        parameters=CONTACT_LIST_PARAMETERS,
        responses={
            200: OpenApiResponse(
                paginated(s.ContactSerializer),
                examples=[OpenApiExample("A page", value=_page(CONTACT_EXAMPLE))],
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        filters = ContactFilters(
            search=params.get("search", "").strip(),
            status=params.get("status", "").strip(),
            tag=params.get("tag", "").strip(),
            group_id=params.get("group_id") or None,
            source_id=params.get("source_id") or None,
        )
        return _contact_page(request, filters)

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_create",
        summary="Create a contact",
        description="Emits `contact.created`. A phone already used by another live contact "
        "is a 409 whose `details.existing_id` names that contact.",
        request=s.ContactCreateSerializer,
        examples=[
            OpenApiExample(
                "New contact",
                value={
                    k: v
                    for k, v in CONTACT_EXAMPLE.items()
                    if k not in ("id", "created_at", "updated_at", "source_id")
                },
                request_only=True,
            )
        ],
        responses={
            201: OpenApiResponse(
                s.ContactSerializer, examples=[OpenApiExample("Created", value=CONTACT_EXAMPLE)]
            ),
            **INVALID,
            **CONFLICT,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        _require(data, "first_name")
        contact = services.contact_create(data=data, from_api=True)
        return Response(s.ContactSerializer(contact).data, status=201)


class ContactSearchApi(PublicApiView):
    required_scopes = {"POST": READ}

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_search",
        summary="Structured search",
        description="Same response as GET /contacts; the filters come in the body. "
        "`page` and `limit` stay in the query string.",
        request=s.ContactSearchSerializer,
        parameters=CONTACT_LIST_PARAMETERS[-2:],
        examples=[
            OpenApiExample(
                "Leads in India",
                value={"search_term": "acme", "status": "lead", "tag": "india"},
                request_only=True,
            )
        ],
        responses={
            200: OpenApiResponse(
                paginated(s.ContactSerializer),
                examples=[OpenApiExample("A page", value=_page(CONTACT_EXAMPLE))],
            ),
            **INVALID,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        filters = ContactFilters(
            search=_text_param(data.get("search_term"), "search_term"),
            status=_text_param(data.get("status"), "status"),
            tag=_text_param(data.get("tag"), "tag"),
            group_id=_text_param(data.get("group_id"), "group_id") or None,
            source_id=_text_param(data.get("source_id"), "source_id") or None,
        )
        return _contact_page(request, filters)


class ContactBulkCreateApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_bulk_create",
        summary="Bulk create",
        description="Up to 100 contacts. A bad item never aborts the batch: it is reported "
        "with its index. Each created contact emits `contact.created`.",
        request=s.ContactBulkSerializer,
        examples=[
            OpenApiExample(
                "Three contacts, one invalid",
                value={
                    "contacts": [
                        {"first_name": "Anurag", "phone": "+919999999999"},
                        {"first_name": "Lara", "email": "lara@acme.test"},
                        {"first_name": ""},
                    ]
                },
                request_only=True,
            )
        ],
        responses={
            201: OpenApiResponse(
                s.BulkResultSerializer,
                examples=[
                    OpenApiExample(
                        "Partial success",
                        value={
                            "total": 3,
                            "created": 2,
                            "failed": 1,
                            "errors": [
                                {"index": 2, "error": "first_name must be at least 1 character"}
                            ],
                        },
                    )
                ],
            ),
            **INVALID,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        _require(data, "contacts")
        items = data["contacts"]
        if not isinstance(items, list):
            raise ApplicationError(
                "contacts must be a list.",
                code="validation_error",
                status=422,
                details=[{"field": "contacts", "message": "contacts must be a list"}],
            )
        for index, item in enumerate(items):
            if isinstance(item, dict) and "first_name" not in item:
                # A missing field is reported per row, like any other bad row.
                item.setdefault("first_name", None)
            items[index] = item
        result = services.contact_bulk_create(items=items, source=services.source_for_api())
        body = {
            "total": result.total,
            "created": result.created,
            "failed": result.failed,
            "errors": result.errors,
        }
        return Response(body, status=201)


class ContactDetailApi(PublicApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_get",
        summary="Get a contact",
        responses={
            200: OpenApiResponse(
                s.ContactSerializer, examples=[OpenApiExample("A contact", value=CONTACT_EXAMPLE)]
            ),
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request, contact_id: str) -> Response:
        contact = selectors.contact_get(contact_id=contact_id)
        return Response(s.ContactSerializer(contact).data)

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_update",
        summary="Update a contact",
        description="Only the fields sent change; `null` clears a nullable field. "
        "Emits `contact.updated`.",
        request=s.ContactUpdateSerializer,
        examples=[
            OpenApiExample(
                "Promote to customer",
                value={"status": "customer", "tags": ["india", "saas", "paid"]},
                request_only=True,
            )
        ],
        responses={
            200: OpenApiResponse(
                s.ContactSerializer, examples=[OpenApiExample("Updated", value=CONTACT_EXAMPLE)]
            ),
            **INVALID,
            **NOT_FOUND,
            **CONFLICT,
            **AUTH_ERRORS,
        },
    )
    def patch(self, request: Request, contact_id: str) -> Response:
        data = _body(request)
        contact = selectors.contact_get(contact_id=contact_id)
        contact = services.contact_update(contact=contact, changes=data)
        return Response(s.ContactSerializer(contact).data)

    @extend_schema(
        tags=["Contacts"],
        operation_id="contacts_delete",
        summary="Archive a contact",
        description="Soft delete: hidden from every listing, history kept. "
        "Emits `contact.deleted`.",
        request=None,
        responses={
            200: OpenApiResponse(
                s.MessageSerializer,
                examples=[OpenApiExample("Deleted", value={"message": "Contact deleted"})],
            ),
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def delete(self, request: Request, contact_id: str) -> Response:
        contact = selectors.contact_get(contact_id=contact_id)
        services.contact_archive(contact=contact)
        return Response({"message": "Contact deleted"})


class GroupListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_list",
        summary="List groups",
        parameters=CONTACT_LIST_PARAMETERS[-2:],
        responses={
            200: OpenApiResponse(
                paginated(s.GroupSerializer),
                examples=[OpenApiExample("A page", value=_page(GROUP_EXAMPLE))],
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request, queryset=selectors.group_list(), serializer_class=s.GroupSerializer
        )

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_create",
        summary="Create a group",
        request=s.GroupWriteSerializer,
        examples=[
            OpenApiExample(
                "VIP",
                value={"name": "VIP customers", "description": "Bought twice or more"},
                request_only=True,
            )
        ],
        responses={
            201: OpenApiResponse(
                s.GroupSerializer, examples=[OpenApiExample("Created", value=GROUP_EXAMPLE)]
            ),
            **INVALID,
            409: _error(409, "conflict", "A group with this name exists."),
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        _require(data, "name")
        group = services.group_create(name=data["name"], description=data.get("description"))
        return Response(s.GroupSerializer(selectors.group_get(group_id=group.pk)).data, 201)


class GroupDetailApi(PublicApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_get",
        summary="Get a group",
        responses={
            200: OpenApiResponse(
                s.GroupSerializer, examples=[OpenApiExample("A group", value=GROUP_EXAMPLE)]
            ),
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request, group_id: str) -> Response:
        return Response(s.GroupSerializer(selectors.group_get(group_id=group_id)).data)

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_update",
        summary="Update a group",
        request=s.GroupUpdateSerializer,
        examples=[OpenApiExample("Rename", value={"name": "VIP"}, request_only=True)],
        responses={
            200: OpenApiResponse(
                s.GroupSerializer, examples=[OpenApiExample("Updated", value=GROUP_EXAMPLE)]
            ),
            **INVALID,
            **NOT_FOUND,
            409: _error(409, "conflict", "A group with this name exists."),
            **AUTH_ERRORS,
        },
    )
    def patch(self, request: Request, group_id: str) -> Response:
        data = _body(request)
        group = selectors.group_get(group_id=group_id)
        services.group_update(group=group, changes=data)
        return Response(s.GroupSerializer(selectors.group_get(group_id=group.pk)).data)

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_delete",
        summary="Delete a group",
        description="Removes the group and its memberships; the contacts stay.",
        request=None,
        responses={
            200: OpenApiResponse(
                s.MessageSerializer,
                examples=[OpenApiExample("Deleted", value={"message": "Group deleted"})],
            ),
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def delete(self, request: Request, group_id: str) -> Response:
        services.group_delete(group=selectors.group_get(group_id=group_id))
        return Response({"message": "Group deleted"})


def _contact_ids(request: Request) -> list[Any]:
    data = _body(request)
    _require(data, "contact_ids")
    ids = data["contact_ids"]
    if not isinstance(ids, list):
        raise ApplicationError(
            "contact_ids must be a list.",
            code="validation_error",
            status=422,
            details=[{"field": "contact_ids", "message": "contact_ids must be a list of ids"}],
        )
    return ids


MEMBERSHIP_EXAMPLE = {"contact_ids": ["f47ac10b-58cc-4372-a567-0e02b2c3d479"]}


class GroupContactsApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE, "DELETE": WRITE}

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_contacts_list",
        summary="List a group's contacts",
        parameters=CONTACT_LIST_PARAMETERS[-2:],
        responses={
            200: OpenApiResponse(
                paginated(s.ContactSerializer),
                examples=[OpenApiExample("A page", value=_page(CONTACT_EXAMPLE))],
            ),
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request, group_id: str) -> Response:
        group = selectors.group_get(group_id=group_id)
        return paginated_response(
            request=request,
            queryset=selectors.group_contacts(group=group),
            serializer_class=s.ContactSerializer,
        )

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_contacts_add",
        summary="Add contacts to a group",
        description="At most 1,000 ids. Ids that match no live contact come back in "
        "`unknown_ids`; they never fail the request.",
        request=s.ContactIdsSerializer,
        examples=[OpenApiExample("Add one", value=MEMBERSHIP_EXAMPLE, request_only=True)],
        responses={
            200: OpenApiResponse(
                s.MembershipResultSerializer,
                examples=[
                    OpenApiExample("Added", value={"added": 1, "unchanged": 0, "unknown_ids": []})
                ],
            ),
            **INVALID,
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request, group_id: str) -> Response:
        group = selectors.group_get(group_id=group_id)
        change = services.group_add_contacts(group=group, contact_ids=_contact_ids(request))
        return Response(
            {
                "added": change.changed,
                "unchanged": change.unchanged,
                "unknown_ids": change.unknown_ids,
            }
        )

    @extend_schema(
        tags=["Groups"],
        operation_id="groups_contacts_remove",
        summary="Remove contacts from a group",
        request=s.ContactIdsSerializer,
        examples=[OpenApiExample("Remove one", value=MEMBERSHIP_EXAMPLE, request_only=True)],
        responses={
            200: OpenApiResponse(
                s.MembershipResultSerializer,
                examples=[
                    OpenApiExample(
                        "Removed", value={"removed": 1, "unchanged": 0, "unknown_ids": []}
                    )
                ],
            ),
            **INVALID,
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def delete(self, request: Request, group_id: str) -> Response:
        group = selectors.group_get(group_id=group_id)
        change = services.group_remove_contacts(group=group, contact_ids=_contact_ids(request))
        return Response(
            {
                "removed": change.changed,
                "unchanged": change.unchanged,
                "unknown_ids": change.unknown_ids,
            }
        )


class SourceListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        tags=["Sources"],
        operation_id="sources_list",
        summary="List sources",
        parameters=CONTACT_LIST_PARAMETERS[-2:],
        responses={
            200: OpenApiResponse(
                paginated(s.SourceSerializer),
                examples=[OpenApiExample("A page", value=_page(SOURCE_EXAMPLE))],
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request, queryset=selectors.source_list(), serializer_class=s.SourceSerializer
        )

    @extend_schema(
        tags=["Sources"],
        operation_id="sources_create",
        summary="Create a source",
        request=s.SourceWriteSerializer,
        examples=[
            OpenApiExample(
                "A form", value={"name": "Website sign-up form", "kind": "form"}, request_only=True
            )
        ],
        responses={
            201: OpenApiResponse(
                s.SourceSerializer, examples=[OpenApiExample("Created", value=SOURCE_EXAMPLE)]
            ),
            **INVALID,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        _require(data, "name")
        source = services.source_create(name=data["name"], kind=data.get("kind") or "api")
        return Response(s.SourceSerializer(selectors.source_get(source_id=source.pk)).data, 201)


class SourceDetailApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=["Sources"],
        operation_id="sources_get",
        summary="Get a source",
        responses={
            200: OpenApiResponse(
                s.SourceSerializer, examples=[OpenApiExample("A source", value=SOURCE_EXAMPLE)]
            ),
            **NOT_FOUND,
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request, source_id: str) -> Response:
        return Response(s.SourceSerializer(selectors.source_get(source_id=source_id)).data)
