"""The dashboard shell: workspace picker, overview, and the settings pages that belong to the
workspace itself (team, workspace details, audit log). Views stay thin: forms validate input,
services decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.audit.selectors import audit_entry_list
from apps.core.errors import ApplicationError
from apps.core.pages import paginate, template_for
from apps.dashboard.forms import InviteForm, RoleForm, WorkspaceForm
from apps.tenancy import services as tenancy
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view
from apps.tenancy.selectors import membership_list, memberships_of_user


def _workspace_url(request: HttpRequest, name: str) -> str:
    return reverse(name, kwargs={"tenant": request.tenant.slug})


@login_required
def workspace_picker(request: HttpRequest) -> HttpResponse:
    memberships = list(memberships_of_user(user=request.user))
    if len(memberships) == 1 and not request.GET.get("all"):
        return redirect("dashboard:overview", tenant=memberships[0].tenant.slug)
    return render(request, "dashboard/workspace_picker.html", {"memberships": memberships})


@workspace_view(Role.VIEWER)
def overview(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    next_steps = [
        step
        for step in [
            {
                "title": "Invite your team",
                "text": "Marketers build campaigns; viewers follow the results.",
                "url": _workspace_url(request, "dashboard:team"),
                "role": Role.ADMIN,
                "done": tenant.memberships.count() > 1,
            },
            {
                "title": "Set your time zone",
                "text": f"Campaigns are scheduled in {tenant.timezone}.",
                "url": _workspace_url(request, "dashboard:workspace"),
                "role": Role.ADMIN,
                "done": tenant.timezone != "UTC",
            },
        ]
        if request.membership.has_role(step["role"])
    ]
    from apps.campaigns.selectors import campaigns_overview

    return render(
        request,
        "dashboard/overview.html",
        {
            "member_count": tenant.memberships.count(),
            "next_steps": next_steps,
            "campaigns": campaigns_overview(),
        },
    )


@workspace_view(Role.ADMIN)
def team(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = paginate(request, membership_list(tenant=request.tenant, search=search))
    context = {
        "page": page,
        "search": search,
        "invite_form": InviteForm(),
        "roles": Role.choices,
        "owner_count": request.tenant.memberships.filter(role=Role.OWNER).count(),
    }
    return render(request, template_for(request, "dashboard/team.html", "member-rows"), context)


@workspace_view(Role.ADMIN)
@require_POST
def team_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            _, created = tenancy.membership_invite(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                actor_role=request.membership.role,
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            email = form.cleaned_data["email"]
            if created:
                messages.success(
                    request, f"Invitation sent to {email}. They set their password from the e-mail."
                )
            else:
                messages.success(request, f"{email} now has access to this workspace.")
            return redirect("dashboard:team", tenant=request.tenant.slug)
    page = paginate(request, membership_list(tenant=request.tenant))
    return render(
        request,
        "dashboard/team.html",
        {"page": page, "invite_form": form, "roles": Role.choices, "invite_open": True},
        status=422,
    )


@workspace_view(Role.ADMIN)
@require_POST
def team_change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
    else:
        try:
            membership = tenancy.membership_change_role(
                tenant=request.tenant,
                membership_id=membership_id,
                role=form.cleaned_data["role"],
                actor=request.user,
                actor_role=request.membership.role,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
            )
    return redirect("dashboard:team", tenant=request.tenant.slug)


@workspace_view(Role.ADMIN)
@require_POST
def team_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        tenancy.membership_remove(
            tenant=request.tenant,
            membership_id=membership_id,
            actor=request.user,
            actor_role=request.membership.role,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Member removed.")
        if membership_id == request.membership.pk:
            return redirect("workspace-picker")
    return redirect("dashboard:team", tenant=request.tenant.slug)


@workspace_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = WorkspaceForm(
        request.POST or None, initial={"name": tenant.name, "timezone": tenant.timezone}
    )
    if request.method == "POST" and form.is_valid():
        try:
            tenancy.tenant_update(tenant=tenant, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Workspace saved.")
            return redirect("dashboard:workspace", tenant=tenant.slug)
    status = 422 if request.method == "POST" else 200
    return render(request, "dashboard/workspace.html", {"form": form}, status=status)


@workspace_view(Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = paginate(request, audit_entry_list(search=search), per_page=50)
    context = {"page": page, "search": search}
    return render(request, template_for(request, "dashboard/audit_log.html", "audit-rows"), context)
