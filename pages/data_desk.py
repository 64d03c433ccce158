"""数据管理: the analysts' data desk. Upload extracts, map their columns, check, load what was
checked, look back at every batch, download its rejected rows, undo or re-check a batch.
Reading, checking and writing are the loader's (etl.load, etl.batches); the page shows and asks.
"""

from __future__ import annotations

import time as clock

import polars as pl
import streamlit as st

from dashboard import auth, data, desk, layout
from dashboard.desk import FIXED, NOT_USED, Flash
from etl.batches import UndoRefused, recheck, undo, undo_message
from etl.contract import KINDS
from etl.load import check as check_file
from etl.load import BY_STREET, listing, load_checked
from etl.mapping import MappingError, load_mapping, mapping_dir, save_mapping
from etl.read import FileRefused
from metrics import rollups
from metrics.common import figures_without
from safety.plaintext import markdown_text
from settings import max_file_bytes

layout.page_start(auth.LOAD)

user = auth.current_user()
WHO = user.name if user is not None else desk.DEFAULT_LOADER
DB = data.db_path()

state = st.session_state
state.setdefault("desk_nonce", 0)  # a new uploader (empty) after each load
state.setdefault("desk_inspected", {})  # file_id -> desk.Upload
state.setdefault("desk_resolved", {})  # (file_id, signature) -> Preview or refusal text
state.setdefault("desk_checks", {})  # file_id -> ((signature, correction), StagedFile)
state.setdefault("desk_flash", {})  # area -> [Flash]
state.setdefault("desk_picks", {})  # selectbox -> (version, the value a callback chose for it)


def pick(name: str, value) -> None:
    """Make a selectbox show `value` from the next run on (after a save, load or re-check): it is
    drawn afresh under a new key with `value` as its default, so the analyst can still change it."""
    version = state["desk_picks"].get(name, (0, None))[0]
    state["desk_picks"][name] = (version + 1, value)


def picked(name: str, options: list, default: int) -> tuple[str, int]:
    """The selectbox's key and default index, honouring pick()."""
    version, value = state["desk_picks"].get(name, (0, None))
    return f"{name}-v{version}", options.index(value) if value in options else default


def flash(area: str, level: str, text: str, details: list[str] | None = None) -> None:
    state["desk_flash"].setdefault(area, []).append(Flash(level, text, details or []))


def show_flash(area: str) -> None:
    for message in state["desk_flash"].pop(area, []):
        icons = {"success": ":material/check_circle:", "error": ":material/error:",
                 "warning": ":material/warning:", "info": ":material/info:"}
        body = message.text + "".join(f"\n- {line}" for line in message.details)
        getattr(st, message.level)(body, icon=icons[message.level])


class Plan:
    """One uploaded file as the analyst set it up: its kind and mapping, ready to check or not."""

    def __init__(self, file_id: str, name: str, upload: desk.Upload):
        self.file_id, self.name, self.upload = file_id, name, upload
        self.kind: str | None = None
        self.mapping = None
        self.problems: list[str] = []
        self.refused: str | None = upload.refused

    @property
    def ready(self) -> bool:
        return self.refused is None and self.kind is not None and not self.problems

    @property
    def signature(self) -> str:
        return desk.mapping_signature(self.kind, self.mapping)


def resolved(plan: Plan, kind: str, mapping) -> object:
    """The preview of the file as `kind` with `mapping` (cached per file and setting)."""
    key = (plan.file_id, desk.mapping_signature(kind, mapping))
    if key not in state["desk_resolved"]:
        try:
            state["desk_resolved"][key] = desk.resolve(plan.upload, kind, mapping)
        except FileRefused as refusal:
            state["desk_resolved"][key] = str(refusal)
    return state["desk_resolved"][key]


# ---------------------------------------------------------------- one file: kind, mapping, preview

def save_mapping_clicked(file_id: str, kind: str, mapping, name_key: str, description_key: str,
                         base_key: str, current_base: str) -> None:
    if not auth.still_allowed(auth.LOAD):  # (the router has not asked yet: callbacks run first)
        return
    name = (state.get(name_key) or "").strip()
    if mapping is None:
        flash(file_id, "warning", "这个文件的表头就是标准表头，不需要保存列映射。")
        return
    if name and name != current_base and (mapping_dir() / f"{name}.toml").exists():
        flash(file_id, "error", f"已有名为“{name}”的列映射，请换一个名称(或先选用它再保存以更新)。")
        return
    mapping.description = (state.get(description_key) or "").strip() or mapping.description
    try:
        path = save_mapping(name, mapping)
    except MappingError as exc:
        flash(file_id, "error", f"无法保存列映射：{exc}")
        return
    pick(base_key, name)
    flash(file_id, "success", f"已保存列映射“{name}”({path.name})。以后上传表头相同的文件时会自动选用；"
                              f"命令行可用 `python -m etl load {kind} 文件 --mapping {name}`。")


def mapping_editor(plan: Plan, kind: str, base, start) -> tuple[dict[str, str], dict[str, str]]:
    """A dropdown of the file's columns (or a fixed value) for each field of the kind."""
    required, optional = desk.editor_fields(kind)
    defaults = desk.editor_defaults(start)
    options = [NOT_USED, *plan.upload.headers, FIXED]
    prefix = f"desk-map-{plan.file_id}-{kind}-{base.name if base else ''}"
    choices: dict[str, str] = {}
    fixed: dict[str, str] = {}
    for group, title in ((required, "必需字段"), (optional, "可选字段")):
        st.markdown(f"**{title}**")
        for index, column in enumerate(group):
            if index % 3 == 0:
                row = st.columns(3)
            with row[index % 3]:
                note = desk.requirement_note(kind, column.name)
                label = desk.column_label(column) + (" *" if column.required else "")
                default = defaults.get(column.name, NOT_USED)
                choice = st.selectbox(label, options, index=options.index(default) if default in options else 0,
                                      key=f"{prefix}-{column.name}",
                                      help=(note + "。" if note else "") + "选择文件中对应的列，或填写固定值。")
                choices[column.name] = choice
                if choice == FIXED:
                    given = start.fixed.get(column.name, "")
                    listed = desk.fixed_options(column.name)
                    if listed:
                        fixed[column.name] = st.selectbox(
                            f"{column.headers[0]} 固定值", listed,
                            index=listed.index(given) if given in listed else 0,
                            key=f"{prefix}-{column.name}-fixed")
                    else:
                        fixed[column.name] = st.text_input(f"{column.headers[0]} 固定值", value=given,
                                                           key=f"{prefix}-{column.name}-fixed")
    return choices, fixed


def file_panel(index: int, uploaded) -> Plan:
    inspected = state["desk_inspected"]
    if uploaded.file_id not in inspected:
        inspected[uploaded.file_id] = desk.inspect_upload(uploaded.name, uploaded.getvalue())
    plan = Plan(uploaded.file_id, uploaded.name, inspected[uploaded.file_id])
    upload = plan.upload
    with st.container(border=True):
        st.markdown(f"#### {index}. {uploaded.name}")
        show_flash(plan.file_id)
        if upload.refused:
            st.caption(f"大小 {desk.size_label(upload.size)}")
            st.error(f"这个文件无法导入，不会写入任何数据。原因：{upload.refused}", icon=":material/block:")
            return plan
        st.caption(desk.file_facts(upload))

        kinds = list(KINDS)
        default_kind = desk.default_kind(upload)
        left, right = st.columns(2)
        kind = left.selectbox("文件种类", kinds, format_func=desk.kind_label,
                              index=kinds.index(default_kind) if default_kind else None,
                              placeholder="无法从表头判断，请选择", key=f"desk-kind-{plan.file_id}",
                              help="根据表头自动判断，可以更改。")
        if kind is None:
            st.warning("无法从表头判断这是哪类文件：请选择文件种类。", icon=":material/help:")
            st.dataframe(desk.preview_table(upload.preview), hide_index=True, width="stretch")
            return plan
        plan.kind = kind

        offered = desk.offered_mappings(upload, kind)
        names = ["", *[m.name for m in offered]]
        base_key = f"desk-base-{plan.file_id}-{kind}"
        widget_key, default = picked(base_key, names, 1 if offered else 0)
        base_name = right.selectbox("已保存的列映射", names, index=default,
                                    format_func=lambda n: n or "不使用(按标准表头读取)", key=widget_key,
                                    help="与本文件表头相同的已保存列映射会自动选用。")
        base = None
        if base_name:
            try:
                base = load_mapping(base_name)
            except MappingError as exc:
                st.error(str(exc))
        if base is not None and base.description:
            right.caption(base.description)

        auto = resolved(plan, kind, None)
        start = resolved(plan, kind, base) if base else auto
        if isinstance(start, str):  # cannot happen for a file the preview read; kept for safety
            plan.refused = start
            st.error(start)
            return plan
        needs_mapping = bool(auto.missing) or base is not None
        with st.expander("列映射(文件表头与标准字段不一致时使用)", expanded=needs_mapping,
                         icon=":material/swap_horiz:"):
            choices, fixed = mapping_editor(plan, kind, base, start)
            plan.problems = desk.mapping_problems(choices, fixed)
            if not plan.problems:
                plan.mapping = desk.build_mapping(kind, upload.headers, choices, fixed, base=base,
                                                  auto=auto.columns)
            st.divider()
            name_key, description_key = f"desk-save-name-{plan.file_id}", f"desk-save-desc-{plan.file_id}"
            a, b, c = st.columns([2, 3, 1.2], vertical_alignment="bottom")
            a.text_input("映射名称", value=base.name if base else "", key=name_key,
                         placeholder="例如 城市通导出", help="中文、字母、数字、下划线或连字符。")
            b.text_input("说明(可选)", key=description_key, placeholder="例如 城市通平台每周导出")
            c.button("保存列映射", key=f"desk-save-{plan.file_id}", icon=":material/save:",
                     disabled=bool(plan.problems),
                     on_click=save_mapping_clicked,
                     args=(plan.file_id, kind, plan.mapping, name_key, description_key, base_key, base_name))

        for problem in plan.problems:
            st.error(problem, icon=":material/error:")
        current = resolved(plan, kind, plan.mapping) if not plan.problems else start
        if isinstance(current, str):
            plan.refused = current
            st.error(current)
            return plan
        kept = [f"“{current.columns[name]}”→ {name}" for name, choice in choices.items()
                if choice == NOT_USED and name in current.columns and name not in current.fixed]
        if kept:
            st.caption("以下列是标准表头，选了“不导入”也仍会按标准读取：" + "、".join(kept)
                       + "。如不需要，请在文件中删去该列。")
        if current.missing:
            st.warning(f"按“{KINDS[kind].label}”读取，缺少必需列：{'、'.join(current.missing)}。"
                       "请在上面的“列映射”中为它们选择文件中的列或填写固定值，或更改文件种类。",
                       icon=":material/warning:")
        seen = data.batch_history().filter(pl.col("file_hash") == upload.file_hash) \
            if data.database_exists() else None
        if seen is not None and seen.height:
            batch = seen.row(0, named=True)
            st.info(f"内容完全相同的文件已于 {batch['loaded_at']:%Y-%m-%d %H:%M} 导入过(批次 {batch['batch_id']}"
                    f"{'，已撤销' if batch['is_undone'] else ''})。再次导入不会改变已有数据。",
                    icon=":material/content_copy:")
        tab_preview, tab_headers = st.tabs(["数据预览(前 10 行)", "表头对应"])
        with tab_preview:
            if current.data_rows == 0:
                st.warning("表头下面没有数据行：这个文件预检时会被拒绝。", icon=":material/warning:")
            else:
                st.dataframe(desk.preview_table(current), hide_index=True, width="stretch")
            st.caption("姓名、电话等个人信息按入库方式显示：姓名不保存，电话只保存不可还原的密文，诉求内容中的号码已隐去。")
        with tab_headers:
            st.dataframe(desk.header_table(current, kind), hide_index=True, width="stretch")
    return plan


# ---------------------------------------------------------------- check and load

def request(action: str) -> None:
    """A button's callback: the action runs where the page draws it, with its progress shown there.

    (A plain `if st.button(...)` would do too in a browser; a callback also survives the rerun that
    layout.page_start() may make first, as under AppTest.)"""
    state[f"desk_do_{action}"] = True


def correction() -> bool:
    return bool(state.get("desk_correction"))


def check(plans: list[Plan]) -> None:
    for plan in plans:
        staged = check_file(DB, plan.kind, plan.upload.decoded, plan.name, mapping=plan.mapping,
                            correction=correction())
        state["desk_checks"][plan.file_id] = ((plan.signature, correction()), staged)


def current_check(plan: Plan):
    """The file staged by its check, while its kind, mapping and correction are as checked."""
    found = state["desk_checks"].get(plan.file_id)
    return found[1] if found and found[0] == (plan.signature, correction()) else None


def check_results(plan: Plan, report) -> None:
    with st.container(border=True):
        st.markdown(f"**{markdown_text(plan.name)}** · {desk.kind_label(plan.kind)}"
                    + (f" · 列映射：{plan.mapping.name}" if plan.mapping is not None and plan.mapping.name else
                       (" · 自定义列映射" if plan.mapping is not None else "")))
        if report.refused:
            st.error(desk.check_summary(report), icon=":material/block:")
            return
        columns = st.columns(6)
        columns[0].metric("读取行数", f"{report.rows_read:,}", border=True)
        columns[1].metric("将新增", f"{report.inserted:,}", border=True)
        columns[2].metric("将更新", f"{report.updated:,}", border=True)
        columns[3].metric("与库中相同", f"{report.unchanged:,}", border=True)
        columns[4].metric("较旧未覆盖", f"{report.stale:,}", border=True)
        columns[5].metric("将拒绝", f"{report.rejected:,}", border=True)
        st.caption(desk.check_summary(report))
        if report.duplicates:
            st.warning(f"文件内有 {report.duplicates:,} 行编号重复：同一编号只导入一行(最后出现的有效行；各行都有“更新时间”时取最晚的一行)，其余的行被拒绝。",
                       icon=":material/content_copy:")
        if report.ignored_columns:
            st.caption("以下列不会被读取(不在标准字段中，或与已读取的列重复)：" + listing(report.ignored_columns))
        if report.absent_columns:
            st.info(report.absent_text(figures_without) + "。", icon=":material/info:")
        if report.by_street:
            st.info(BY_STREET + "。", icon=":material/info:")
        if report.reasons:
            st.markdown("**将被拒绝的行(按原因)**")
            st.dataframe(desk.reasons_table(report), hide_index=True, width="stretch")


def load(checked: list[tuple[Plan, object]]) -> None:
    """Load the files as they were checked (their staged rows; the file is not read again)."""
    plans = [plan for plan, _ in checked]
    bar = st.progress(0.0, text="开始导入")
    reports = []
    for index, (plan, staged) in enumerate(checked):
        def tell(fraction: float, message: str, index=index) -> None:
            bar.progress(min(1.0, (index + fraction) / len(plans)), text=f"第 {index + 1}/{len(plans)} 个文件：{message}")

        try:
            (report,) = load_checked(DB, [staged], loaded_by=WHO, correction=correction(), progress=tell)
        except Exception as exc:  # a lock timeout, a full disk: this file is not written, the rest not tried
            flash("upload", "error", f"{plan.name}：导入失败，这个文件未写入任何数据。原因：{exc}")
            names = [later.name for later in plans[index + 1:]]
            if names:
                flash("upload", "warning", "以下文件尚未导入，请稍后重新预检后再导入：" + "、".join(names))
            break
        reports.append(report)
    bar.progress(1.0, text="导入结束")
    for report in reports:
        if report.refused:
            flash("upload", "error", report.summary_zh(figures_without))
        else:
            flash("upload", "success", report.summary_zh(figures_without))
    loaded = [r.batch_id for r in reports if r.batch_id is not None]
    if loaded:
        pick("desk_batch", loaded[-1])
        data.wrote()
    state["desk_checks"].clear()
    state["desk_inspected"].clear()
    state["desk_resolved"].clear()
    state["desk_nonce"] += 1
    st.rerun()


# ---------------------------------------------------------------- the rollup after an upgrade

def rebuild_rollup() -> None:
    started = clock.perf_counter()
    try:
        days = rollups.rebuild_file(DB)
    except Exception as exc:  # a lock timeout, a full disk: nothing was published
        flash("rollup", "error", f"重算失败，数据未改变。原因：{exc}")
        return
    if days is None:  # a second click, or another analyst's rebuild, got there first
        return
    data.wrote()
    flash("rollup", "success", f"已重算日汇总表：{days} 天，用时 {clock.perf_counter() - started:.1f} 秒。"
                               "各页面改读汇总表(数字不变，更快)。")


def rollup_notice() -> None:
    """A rollup kept by older code is unused until rebuilt: say so, and offer to rebuild it now
    rather than at the next load."""
    show_flash("rollup")
    if not data.database_exists() or not data.rollup_waiting():
        return
    with st.container(border=True):
        st.warning("日汇总表需要重算：库中的汇总表不是当前软件算出的(软件升级后，或数据由不计算汇总表的程序写入)。重算之前各页面逐条记录计数，数字相同，"
                   "但大库上较慢；下一次导入或撤销也会自动重算。", icon=":material/update:")
        st.button("现在重算日汇总表", key="desk_rollup", icon=":material/refresh:", on_click=request, args=("rollup",))


# ---------------------------------------------------------------- history, rejects, undo, re-check

def ask_undo(batch_id: int) -> None:
    state["desk_pending_undo"] = batch_id


def cancel_undo() -> None:
    state.pop("desk_pending_undo", None)


def confirm_undo(batch_id: int) -> None:
    if not auth.still_allowed(auth.LOAD):
        return
    state.pop("desk_pending_undo", None)
    try:
        result = undo(DB, batch_id, undone_by=WHO)
    except UndoRefused as refusal:
        flash("history", "error", f"不能撤销：{refusal}")
        return
    except Exception as exc:  # a lock timeout and the like: nothing was changed
        flash("history", "error", f"撤销失败，数据未改变。原因：{exc}")
        return
    data.wrote()
    flash("history", "success", undo_message(result))


def recheck_clicked(batch_id: int) -> None:
    if not auth.still_allowed(auth.LOAD):
        return
    try:
        report = recheck(DB, batch_id, loaded_by=WHO)
    except Exception as exc:  # UndoRefused (no such batch), a lock timeout: nothing was changed
        flash("history", "error", f"重新校验失败，数据未改变。原因：{exc}")
        return
    if report.refused:
        flash("history", "info", report.refused)
        return
    data.wrote()
    flash("history", "success", f"重新校验批次 {batch_id} 被拒绝的行，结果作为新批次导入：{report.summary_zh(figures_without)}")
    pick("desk_batch", report.batch_id)


def batch_detail(batch: dict) -> None:
    batch_id = batch["batch_id"]
    show_flash("history")
    st.markdown(f"**{markdown_text(desk.batch_label(batch))}**")
    st.caption(f"文件指纹(SHA-256)：{batch['file_hash']} · 导入人：{batch['loaded_by'] or '—'}")
    if batch["rejected"]:
        rejected = data.batch_rejects(batch_id)
        st.markdown(f"被拒绝的行：{batch['rejected']:,} 行")
        st.dataframe(desk.rejects_frame(rejected), hide_index=True, width="stretch", key=f"desk-rejects-{batch_id}")
    else:
        st.caption("这个批次没有被拒绝的行。")
    if batch["stale"]:
        st.markdown(f"较旧版本，未覆盖：{batch['stale']:,} 行(库中记录导入时已是更新的状态)")
        st.dataframe(data.batch_stale(batch_id), hide_index=True, width="stretch",
                     key=f"desk-stale-{batch_id}")
    buttons = st.container(horizontal=True)
    if batch["rejected"]:
        buttons.download_button("下载被拒绝的行(CSV)", data.batch_rejects_csv(batch_id),
                                file_name=desk.rejects_file_name(batch), mime="text/csv",
                                icon=":material/download:", key=f"desk-download-{batch_id}")
    if batch["stale"]:
        buttons.download_button("下载较旧未覆盖的行(CSV)", data.batch_stale_csv(batch_id),
                                file_name=desk.rejects_file_name(batch, "较旧未覆盖的行"), mime="text/csv",
                                icon=":material/download:", key=f"desk-download-stale-{batch_id}")
    if batch["is_undone"]:
        buttons.caption(f"已于 {batch['undone_at']:%Y-%m-%d %H:%M} 撤销。" if batch["undone_at"] else "已撤销。")
        return
    buttons.button("撤销此批次", key=f"desk-undo-{batch_id}", icon=":material/undo:", on_click=ask_undo,
                   args=(batch_id,))
    if batch["rejected"]:
        buttons.button("重新校验被拒绝的行", key=f"desk-recheck-{batch_id}", icon=":material/refresh:",
                       on_click=recheck_clicked, args=(batch_id,),
                       help="按当前的参考数据(如小区台账)重新校验这些行，通过的作为一个新批次导入(可撤销)。")
    if state.get("desk_pending_undo") == batch_id:
        with st.container(border=True):
            st.warning(desk.undo_question(batch), icon=":material/warning:")
            choice = st.container(horizontal=True)
            choice.button("确认撤销", key="desk-undo-confirm", type="primary", on_click=confirm_undo, args=(batch_id,))
            choice.button("取消", key="desk-undo-cancel", on_click=cancel_undo)


def history_section() -> None:
    st.subheader("载入记录")
    if not data.database_exists():
        show_flash("history")
        layout.empty("还没有任何载入记录。")
        return
    history = data.batch_history()
    if history.height == 0:
        show_flash("history")
        layout.empty("还没有任何载入记录。")
        return
    st.caption("每次导入(本页或命令行)都是一个批次；选中一个批次可查看、下载被拒绝的行，撤销它或重新校验。")
    layout.table(desk.history_frame(history), desk.HISTORY_COLUMNS, key="desk-history",
                 height=min(420, 38 + 35 * history.height))
    batches = {row["batch_id"]: row for row in history.to_dicts()}
    widget_key, default = picked("desk_batch", list(batches), 0)
    chosen = st.selectbox("选择批次", list(batches), format_func=lambda b: desk.batch_label(batches[b]),
                          index=default, key=widget_key)
    batch_detail(batches[chosen])


# ---------------------------------------------------------------- the page

# What the analyst asked for by clicking (see request()); taken once, whatever happens next.
requested = {action for action in ("check", "load", "rollup") if state.pop(f"desk_do_{action}", False)}

st.title("数据管理")
st.caption("上传文件 → 核对文件种类和列映射 → 预检(不写入) → 确认导入。每次导入是一个批次，可在“载入记录”中撤销。")

if "rollup" in requested:
    with st.spinner("正在重算日汇总表……(千万条诉求约需十几秒)"):
        rebuild_rollup()
rollup_notice()

st.subheader("上传文件")
show_flash("upload")
files = st.file_uploader(
    f"拖放或选择文件：CSV(UTF-8 或 GBK)或 Excel(.xlsx)，可一次选择多个，每个不超过 {max_file_bytes() // 1048576} MB",
    type=["csv", "xlsx", "xls"], accept_multiple_files=True, key=f"desk_upload_{state['desk_nonce']}")

plans = [file_panel(index, uploaded) for index, uploaded in enumerate(files or [], start=1)]
ready = [plan for plan in plans if plan.ready]
if plans:
    if not ready:
        st.info("没有可以预检的文件：请先处理上面的问题。", icon=":material/info:")
    st.checkbox("更正批次：文件中的版本即使比库中记录旧(如撤回录错的办结时间)也覆盖，并记入审计日志",
                key="desk_correction",
                help="不勾选时，比库中记录旧的行(缺少或早于库中已有的响应、办结、回访、结案时间或评价)不会覆盖库中数据。")
    st.button(f"预检(不写入数据库)：{len(ready)} 个文件", key="desk_check", icon=":material/fact_check:",
              disabled=not ready, on_click=request, args=("check",))
    if "check" in requested and ready:
        with st.spinner("正在预检……"):
            check(ready)
    checked = [(plan, current_check(plan)) for plan in ready]
    shown = [(plan, staged) for plan, staged in checked if staged is not None]
    stale = [plan.name for plan, staged in checked if staged is None and plan.file_id in state["desk_checks"]]
    if stale:
        st.warning("以下文件的设置在预检后有改动，需要重新预检：" + "、".join(stale), icon=":material/update:")
    if shown:
        st.subheader("预检结果")
        st.caption("确认导入的就是预检过的内容(不再重新读取文件)；在确认之前，不会写入任何数据。")
        for plan, staged in shown:
            check_results(plan, staged.report)
        loadable = [(plan, staged) for plan, staged in shown if not staged.report.refused]
        if any(staged.database != data.identity() for _, staged in loadable):
            st.info("预检之后数据库有更新(其间有其他导入完成)：导入时将按最新数据重新核对新增、更新和较旧未覆盖的行，"
                    "并说明与预检的不同；也可以先重新预检。", icon=":material/update:")
        if loadable:
            st.caption("确认后将导入：" + "、".join(plan.name for plan, _ in loadable)
                       + "。每个文件是一个批次，导入后可在“载入记录”中撤销。")
            st.button(f"确认导入 {len(loadable)} 个文件", key="desk_load", type="primary", icon=":material/upload:",
                      on_click=request, args=("load",))
            if "load" in requested:
                load(loadable)

history_section()
