"""Staff pages of the enterprise networks: industry chains (产业链) and WeChat groups (微信矩阵群).

Thin: parse the form, call one service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.appeals.forms import attach_errors
from kuaiban.core.errors import DomainError, NotFound, PermissionDenied
from kuaiban.enterprise import forms as f
from kuaiban.enterprise import network, rules, selectors, services
from kuaiban.enterprise.models import EnterpriseGroup, IndustryChain
from kuaiban.org.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _project_choices() -> list[tuple[int, str]]:
    # projects builds on enterprise: its model is looked up through the app registry.
    project_model = apps.get_model("projects", "Project")
    return [(p.pk, str(p)) for p in project_model.objects.all()[:500]]


def _chain(user: User, pk: int) -> IndustryChain:
    try:
        return network.chain_get(user=user, chain_id=pk)
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    except NotFound:
        raise Http404 from None


def _group(user: User, pk: int) -> EnterpriseGroup:
    try:
        return network.group_get(user=user, group_id=pk)
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    except NotFound:
        raise Http404 from None


def _save_chain(request: HttpRequest, form: f.ChainForm, pk: int | None) -> Any:
    """Run the chain form through its service: the saved chain, or the error status."""
    if not form.is_valid():
        return 400
    data = services.ChainInput(**form.cleaned_data)
    user = _user(request)
    try:
        if pk is None:
            return services.chain_create(actor=user, data=data)
        return services.chain_update(actor=user, chain_id=pk, data=data)
    except DomainError as exc:
        attach_errors(form, exc)
        return exc.status


@login_required
def chains(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not rules.sees_all(user):
        raise DjangoPermissionDenied
    manages = rules.has(user, rules.MANAGE_CHAINS)
    form = f.ChainForm(request.POST or None, projects=_project_choices(), prefix="chain")
    status = 200
    if request.method == "POST":
        if not manages:
            raise DjangoPermissionDenied
        saved = _save_chain(request, form, None)
        if isinstance(saved, IndustryChain):
            messages.success(request, _("Industry chain %(name)s set up.") % {"name": saved.name})
            return redirect("enterprise:chain", pk=saved.pk)
        status = saved
    context = {"chains": list(network.chains(user=user)), "form": form if manages else None}
    return render(request, "enterprise/chains.html", context, status=status)


@login_required
def chain(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    item = _chain(user, pk)
    manages = rules.has(user, rules.MANAGE_CHAINS)
    members = list(item.enterprises.all())
    initial = {
        "name": item.name,
        "leader": item.leader.username,
        "description": item.description,
        "enterprises": [e.credit_code for e in members],
        "projects": [p.pk for p in item.projects.all()],
    }
    form = f.ChainForm(
        request.POST or None, initial=initial, projects=_project_choices(), prefix="chain"
    )
    status = 200
    if request.method == "POST":
        if not manages:
            raise DjangoPermissionDenied
        saved = _save_chain(request, form, pk)
        if isinstance(saved, IndustryChain):
            messages.success(request, _("Industry chain saved."))
            return redirect("enterprise:chain", pk=pk)
        status = saved
    appeals = list(network.open_appeals_of(user=user, enterprises=members)[:200])
    context = {
        "chain": item,
        "members": members,
        "projects": list(item.projects.all()),
        "appeals": appeals,
        "readable": selectors.readable_numbers(user, appeals),
        "form": form if manages else None,
    }
    return render(request, "enterprise/chain.html", context, status=status)


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not rules.sees_all(user):
        raise DjangoPermissionDenied
    manages = rules.has(user, rules.MANAGE_GROUPS)
    form = f.GroupForm(request.POST or None, prefix="group")
    status = 200
    if request.method == "POST":
        if not manages:
            raise DjangoPermissionDenied
        status = 400
        if form.is_valid():
            try:
                saved = services.group_save(
                    actor=user, data=services.GroupInput(**form.cleaned_data)
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("WeChat group %(name)s set up.") % {"name": saved.name})
                return redirect("enterprise:group", pk=saved.pk)
    context = {"groups": list(network.groups(user=user)), "form": form if manages else None}
    return render(request, "enterprise/groups.html", context, status=status)


def _group_context(user: User, group: EnterpriseGroup) -> dict[str, Any]:
    members = list(group.members.all())
    appeals = list(network.group_appeals(user=user, group=group)[:200])
    return {
        "group": group,
        "members": members,
        "appeals": appeals,
        "readable": selectors.readable_numbers(user, appeals),
        "answers": list(network.group_answers(group)[:50]),
        "runs": rules.has(user, rules.RUN_GROUPS),
        "problem_form": f.GroupProblemForm(
            members=[(e.credit_code, e.name) for e in members], prefix="problem"
        ),
        "answer_form": f.GroupAnswerForm(prefix="answer"),
    }


@login_required
def group(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    return render(request, "enterprise/group.html", _group_context(user, _group(user, pk)))


@login_required
@require_POST
def group_problem(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    item = _group(user, pk)
    context = _group_context(user, item)
    form = f.GroupProblemForm(
        request.POST,
        members=[(e.credit_code, e.name) for e in context["members"]],
        prefix="problem",
    )
    status = 400
    if form.is_valid():
        data = dict(form.cleaned_data)
        code = data.pop("credit_code")
        try:
            appeal = services.group_problem(
                actor=user, group_id=pk, credit_code=code, problem=services.ProblemInput(**data)
            )
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied from None
            attach_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Registered as %(number)s.") % {"number": appeal.number})
            return redirect("enterprise:group", pk=pk)
    context["problem_form"] = form
    return render(request, "enterprise/group.html", context, status=status)


@login_required
@require_POST
def group_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a problem of the group; the handler of the lead unit comes here from the appeal."""
    user = _user(request)
    form = f.GroupAnswerForm(request.POST, prefix="answer")
    if not form.is_valid():
        messages.error(request, _("Check the answer."))
        return redirect("enterprise:group", pk=pk) if rules.sees_all(user) else redirect("/")
    d = form.cleaned_data
    try:
        answer = services.group_answer(
            actor=user, group_id=pk, number=d["number"], text_=d["text"], for_class=d["for_class"]
        )
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied from None
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Answer sent to %(n)d enterprises (%(sms)d SMS).")
            % {"n": answer.enterprises_told, "sms": answer.sms_count},
        )
    if rules.sees_all(user):
        return redirect("enterprise:group", pk=pk)
    return redirect("appeals:detail", number=d["number"])
