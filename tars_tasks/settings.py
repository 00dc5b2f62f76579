"""One Settings object for a run.

Each value comes from the highest of these sources that has it:

1. task flags (``--alias``, ``--env`` ...)
2. the process environment (``TARS_*``, the runbook's variables, ``AWS_REGION`` ...)
3. ``.env.<env>``, then ``.env`` (python-dotenv syntax; a malformed line names file and line)
4. ``invoke.yaml`` / Invoke config (the ``tars:`` section)
5. Terraform outputs: ``.tars/<env>/outputs.json`` (``terraform output -json`` format)
6. built-in defaults (the runbook's names, from :func:`resource_names`)

Terraform outputs rank above the built-in defaults: they describe resources that exist, the
defaults only what they are called when nothing else says so.

This module is the only one that reads ``os.environ``.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError, UsageError
from .names import function_log_group, resource_names  # noqa: F401 - resource_names re-exported

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- value parsers

def _str(v: Any) -> str:
    return str(v).strip()


def _int_min(minimum: int) -> Callable[[Any], int]:
    def parse(v: Any) -> int:
        n = int(str(v).strip())
        if n < minimum:
            raise ValueError(f"must be at least {minimum}")
        return n
    return parse


def _float(v: Any) -> float:
    f = float(str(v).strip())
    if f < 0:
        raise ValueError("must not be negative")
    return f


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$")


def _region(v: Any) -> str:
    s = _str(v)
    if not _REGION.match(s):
        raise ValueError("is not an AWS region name (like us-east-1)")
    return s


def _url(v: Any) -> str:
    s = _str(v)
    if not re.match(r"^https?://[^\s/]+", s):
        raise ValueError("must be an http(s) URL")
    return s


def _name(v: Any) -> str:
    s = _str(v)
    if not re.match(r"^[A-Za-z0-9/][A-Za-z0-9_.:/-]*$", s):
        raise ValueError("may hold only letters, digits and - _ . : /")
    return s


def _target(v: Any) -> str:
    s = _str(v).lower()
    if s not in ("aws", "local"):
        raise ValueError("must be aws or local")
    return s


def _engine(v: Any) -> str:
    s = _str(v)
    if s not in ("docker", "podman"):
        raise ValueError("must be docker or podman")
    return s


def _windows(v: Any) -> str:
    s = _str(v)
    for part in filter(None, (p.strip() for p in s.split(","))):
        if not re.match(r"^\d{2}:\d{2}-\d{2}:\d{2}$", part):
            raise ValueError("must look like 09:00-11:00,13:00-15:00")
    return s


@dataclass(frozen=True)
class Field:
    name: str
    env: str
    help: str
    parse: Callable[[Any], Any] = _str
    default: Any = None          # a value, or a callable taking the resolved project name
    output: str | None = None    # Terraform output that supplies it
    secret: bool = False
    required: bool = False       # checked by `inv config --check`
    lambda_env: bool = False     # one of the runbook's Lambda environment variables


def _named(key: str) -> Callable[[str], str]:
    return lambda project: resource_names(project)[key]


FIELDS: tuple[Field, ...] = (
    Field("project", "TARS_PROJECT", "project name, prefix of every resource", _name, "sre-poc", required=True),
    Field("env", "TARS_ENV", "environment: picks .env.<env> and .tars/<env>/outputs.json", _name, "dev", required=True),
    Field("target", "TARS_TARGET", "aws, or local for the embedded emulator", _target, "aws"),
    Field("region", "AWS_REGION", "AWS region", _region, "us-east-1", required=True),
    Field("profile", "AWS_PROFILE", "AWS named profile"),
    Field("endpoint_url", "AWS_ENDPOINT_URL", "AWS endpoint override (boto3's own variable)", _url),
    Field("function_name", "TARS_FUNCTION_NAME", "Lambda function", _name, _named("function_name"), "function_name", required=True),
    Field("alias", "TARS_ALIAS", "Lambda alias users reach", _name, "production", "lambda_alias", required=True),
    Field("keep_versions", "TARS_KEEP_VERSIONS", "published Lambda versions to keep", _int_min(1), 3),
    Field("function_url", "TARS_FUNCTION_URL", "Lambda Function URL", _url, None, "function_url"),
    Field("artifact_bucket", "TARS_ARTIFACT_BUCKET", "S3 bucket for Lambda zips over 50 MB and release records", _name, None, "artifact_bucket"),
    Field("ui_bucket", "TARS_UI_BUCKET", "S3 bucket of the triage UI", _name, None, "ui_bucket", required=True),
    Field("distribution_id", "TARS_DISTRIBUTION_ID", "CloudFront distribution of the UI", _name, None, "cloudfront_distribution_id", required=True),
    Field("site_url", "TARS_SITE_URL", "public URL of the triage UI", _url, None, "site_url"),
    Field("ecr_repository_url", "TARS_ECR_REPOSITORY_URL", "ECR repository of the MCP image", _name, None, "ecr_repository_url"),
    Field("ecs_cluster", "TARS_ECS_CLUSTER", "ECS cluster", _name, _named("ecs_cluster"), "ecs_cluster"),
    Field("ecs_service", "TARS_ECS_SERVICE", "ECS service of the MCP server", _name, _named("ecs_service"), "ecs_service"),
    Field("lock_table", "TARS_LOCK_TABLE", "DynamoDB table of deploy locks", _name, _named("lock_table"), "lock_table"),
    Field("lock_lease_seconds", "TARS_LOCK_LEASE_SECONDS", "deploy lock lease", _int_min(1), 1800),
    Field("bedrock_model_id", "BEDROCK_MODEL_ID", "Claude model for chat", _str,
          "anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock_model_id", lambda_env=True),
    Field("incidents_table", "INCIDENTS_TABLE", "DynamoDB incidents table", _name, _named("incidents_table"), "incidents_table", lambda_env=True),
    Field("kb_documents_table", "KB_DOCUMENTS_TABLE", "DynamoDB KB documents table", _name, _named("kb_documents_table"), "kb_documents_table", lambda_env=True),
    Field("kb_chunks_table", "KB_CHUNKS_TABLE", "DynamoDB KB chunks table", _name, _named("kb_chunks_table"), "kb_chunks_table", lambda_env=True),
    Field("kb_s3_bucket", "KB_S3_BUCKET", "S3 bucket for raw KB files", _name, None, "kb_bucket", required=True, lambda_env=True),
    Field("mcp_endpoint", "MCP_ENDPOINT", "internal MCP server URL", _url, None, "mcp_endpoint", lambda_env=True),
    Field("github_token_ssm_param", "GITHUB_TOKEN_SSM_PARAM", "SSM path to the GitHub token", _name,
          _named("github_token_ssm_param"), "github_token_ssm_param", lambda_env=True),
    Field("vite_api_endpoint", "VITE_API_ENDPOINT", "API base the React app calls", _str, None, "api_endpoint"),
    # the SRE team's user pool (infrastructure/cognito.tf): inv users.*, and the UI's sign-in
    Field("cognito_user_pool_id", "TARS_COGNITO_USER_POOL_ID", "Cognito user pool of the SRE team", _name, None,
          "cognito_user_pool_id"),
    Field("cognito_client_id", "TARS_COGNITO_CLIENT_ID", "Cognito app client of the triage UI", _name, None,
          "cognito_client_id"),
    Field("production_envs", "TARS_PRODUCTION_ENVS", "production envs: the API is never deployed there without "
          "a user pool", _str, "prod"),
    Field("user_password", "TARS_USER_PASSWORD", "inv users.add: the new user's temporary password "
          "(default: Cognito generates and e-mails one; locally: generated into .tars/local/users/)", secret=True),
    Field("github_token", "GITHUB_TOKEN", "GitHub token (PR approval check)", secret=True),
    Field("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "AWS secret key", secret=True),
    Field("aws_session_token", "AWS_SESSION_TOKEN", "AWS session token", secret=True),
    Field("waiter_delay", "TARS_WAITER_DELAY", "seconds between polls while waiting", _float, 2.0),
    Field("waiter_max_attempts", "TARS_WAITER_MAX_ATTEMPTS", "polls before a wait gives up", _int_min(1), 150),
    Field("max_attempts", "TARS_MAX_ATTEMPTS", "attempts per AWS call (botocore standard retries)", _int_min(1), 5),
    Field("warm_pool_size", "TARS_WARM_POOL_SIZE", "local runtime: warm workers per function without reserved "
          "concurrency", _int_min(1), 4),
    Field("warm_idle_seconds", "TARS_WARM_IDLE_SECONDS", "local runtime: seconds an unused warm worker is kept",
          _int_min(1), 300),
    Field("read_timeout", "TARS_READ_TIMEOUT", "seconds before an AWS call times out", _float, 30.0),
    Field("smoke_timeout", "TARS_SMOKE_TIMEOUT", "seconds to wait for the smoke test reply", _float, 120.0),
    Field("container_engine", "TARS_CONTAINER_ENGINE", "docker or podman (auto-detected)", _engine),
    Field("terraform_bin", "TARS_TERRAFORM_BIN", "terraform or tofu program"),
    Field("builder", "TARS_BUILDER", "remote builder user@host[:port]"),
    Field("deploy_windows_blocked", "TARS_BLOCKED_WINDOWS", "local times not to deploy in", _windows, "09:00-11:00,13:00-15:00"),
    Field("timezone", "TARS_TIMEZONE", "timezone of the deployment windows", _str, "local"),
    Field("preflight_envs", "TARS_PREFLIGHT_ENVS", "envs where deploy runs preflight first", _str, "prod"),
    Field("debug", "TARS_DEBUG", "show tracebacks", _bool, False),
    Field("terraform_plugin_dir", "TARS_TERRAFORM_PLUGIN_DIR", "provider mirror for offline terraform init (-plugin-dir)"),
    Field("checkov_bin", "TARS_CHECKOV_BIN", "checkov program (default .venv-checkov/bin/checkov, else PATH)"),
    Field("test_command", "TARS_TEST_COMMAND", "the project's test command (preflight)", _str, "make test"),
    Field("release_bucket", "TARS_RELEASE_BUCKET", "private S3 bucket of release records (default: the artifact bucket)", _name),
    Field("github_api_url", "TARS_GITHUB_API_URL", "GitHub API base (preflight's approval check)", _url,
          "https://api.github.com"),
    # CI/CD (.github/workflows): the repository whose GitHub environments the deploy role trusts
    Field("github_repository", "GITHUB_REPOSITORY", "OWNER/REPO the deploy role trusts (default: the origin remote)",
          _name),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
DEFAULT_ENVS = ("dev", "staging", "prod", "local")
LAMBDA_ENV_FIELDS = tuple(f for f in FIELDS if f.lambda_env)


def read_dotenv(path: Path) -> dict[str, tuple[str, int]]:
    """Parse a .env file: {KEY: (value, line)}. A malformed line raises ConfigError naming it."""
    from dotenv.parser import parse_stream

    values: dict[str, tuple[str, int]] = {}
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error:
                line = binding.original.line
                key = binding.original.string.split("=", 1)[0].strip()
                named = f" (key {key})" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,63}", key) else ""
                raise ConfigError(f"{path.name}:{line}: cannot parse this line{named}; its value is not shown",
                                  "each line must be KEY=value (quotes allowed, # for comments)")
            if binding.key is not None:
                values[binding.key] = (binding.value or "", binding.original.line)
    return values


def read_outputs(path: Path) -> dict[str, Any]:
    """Terraform outputs as ``terraform output -json`` writes them: {name: {"value": ...}}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not valid Terraform outputs JSON ({exc})",
                          "run inv deploy-infrastructure again to rewrite it, or delete the file")
    return {k: (v.get("value") if isinstance(v, dict) else v) for k, v in data.items()}


def _envs(value: Any, where: str) -> tuple[str, ...]:
    """tars.envs: a list of environment names."""
    hint = "write it as a list, like envs: [dev, staging, prod, local]"
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: tars.envs must be a list of environment names (got {value!r})", hint)
    for item in value:
        try:
            if not isinstance(item, str):
                raise TypeError(item)
            _name(item)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: tars.envs holds {item!r}, which is no environment name", hint) from None
    return tuple(value)


def declared_envs(ctx: Any) -> tuple[str, ...]:
    """The environments a project declares (``tars.envs`` of invoke.yaml), or the built-in four."""
    config = _invoke_config(ctx)
    return _envs(config["envs"], "invoke.yaml") if config.get("envs") is not None else DEFAULT_ENVS


def state_path(root: Path, env: str, target: str) -> Path:
    """Where an env keeps its state (outputs.json, markers, Terraform's data): ``.tars/<env>``.
    The local target keeps each env apart, from the others and from the AWS env of the same name:
    ``.tars/local`` for env local, ``.tars/local-<env>`` for any other env run with ``--local`` (its
    own emulator, servers, ports and outputs)."""
    if target == "local" and env != "local":
        return root / ".tars" / f"local-{env}"
    return root / ".tars" / env


def check_invoke_file(project_dir: Path) -> None:
    """The project's invoke.yaml (the file Invoke loads next to tasks.py) parses and has the shape
    Settings reads: a mapping whose ``tars:`` section is a mapping. ConfigError naming the line."""
    from invoke.util import yaml

    for name in ("invoke.yaml", "invoke.yml"):
        path = Path(project_dir) / name
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the file's permissions") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{name}{line}: not valid YAML ({problem})",
                              f"fix {path}{line} (YAML: 'key: value', nested keys indented); "
                              "inv config shows every setting once it parses") from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{name}: must be a mapping of sections (like tars:, tasks:), not "
                              f"{type(data).__name__}", "see the project's own invoke.yaml")
        section = (data or {}).get("tars")
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"{name}: the tars: section must be a mapping of settings (got {section!r})",
                              "indent each setting under tars:, like '  project: sre-poc'")
        if section and "envs" in section:
            _envs(section["envs"], name)
        return


class Settings:
    """Resolved configuration of one run. Read values as attributes: ``settings.function_name``."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str], problems: dict[str, str],
                 root: Path, envs: tuple[str, ...]):
        self._values = values
        self._sources = sources
        self.problems = problems
        self.root = root
        self.envs = envs

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    # ------------------------------------------------------------ building
    @classmethod
    def load(cls, ctx: Any = None, *, root: Path | str | None = None,
             environ: Mapping[str, str] | None = None, **flags: Any) -> "Settings":
        environ = os.environ if environ is None else environ
        root = Path(root or environ.get("TARS_ROOT") or ROOT).resolve()
        config = _invoke_config(ctx)
        flags = {k: v for k, v in flags.items() if v is not None}
        if flags.pop("local", False):
            flags["target"] = "local"

        # env and target first: they decide which files are read.
        target = flags.get("target") or environ.get("TARS_TARGET") or config.get("target") or "aws"
        default_env = "local" if str(target).lower() == "local" else "dev"
        if flags.get("env"):
            env, env_source = str(flags["env"]), "flag --env"
        elif environ.get("TARS_ENV"):
            env, env_source = environ["TARS_ENV"], "environment TARS_ENV"
        elif str(target).lower() == "local":
            env, env_source = "local", "--local"
        elif config.get("env"):
            env, env_source = str(config["env"]), "invoke.yaml"
        else:
            env, env_source = default_env, "default"
        envs = declared_envs(ctx)
        if "," in env:
            named = f"--env {env}" if env_source == "flag --env" else f"{env} ({env_source})"
            raise UsageError(f"{named}: this task takes one environment",
                             "only inv deploy --env takes several (--env dev,staging); run this task once per environment")
        if env not in envs:
            raise ConfigError(f"unknown environment '{env}'",
                              f"use one of: {', '.join(envs)} (list them under tars.envs in invoke.yaml)")

        dotenv_layers = []
        for name in (f".env.{env}", ".env"):
            path = root / name
            if path.is_file():
                dotenv_layers.append((name, read_dotenv(path)))
        outputs_path = state_path(root, env, str(target).lower()) / "outputs.json"
        outputs = read_outputs(outputs_path) if outputs_path.is_file() else {}

        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        problems: dict[str, str] = {}
        pending_defaults = []
        for f in FIELDS:
            raw, source = _lookup(f, flags, environ, dotenv_layers, config, outputs, env)
            if raw is None:
                pending_defaults.append(f)
                continue
            try:
                values[f.name] = f.parse(raw)
            except (TypeError, ValueError) as exc:
                problems[f.name] = f"{f.env}={'****' if f.secret else redact_value(raw)!r} {exc}"
                values[f.name] = None
            sources[f.name] = source
        for f in pending_defaults:  # defaults may depend on the resolved project
            default = f.default(values.get("project") or "sre-poc") if callable(f.default) else f.default
            values[f.name] = default
            sources[f.name] = "default" if default is not None else "unset"
        values["env"] = env
        sources["env"] = env_source
        settings = cls(values, sources, problems, root, envs)
        from . import console

        for f in FIELDS:
            if f.secret:
                console.register_secret(values.get(f.name))
        return settings

    # ------------------------------------------------------------ reading
    def source(self, name: str) -> str:
        return self._sources.get(name, "unset")

    @property
    def target_name(self) -> str:
        """aws or local (the TARS_TARGET setting; ``--local`` sets it)."""
        return self._values.get("target") or "aws"

    @property
    def target(self):
        """Where this run deploys (tars_tasks.target): it makes the clients and knows what differs."""
        if self.__dict__.get("_target") is None:
            from .target import make

            self._target = make(self)
        return self._target

    @property
    def clients(self):
        """This run's boto3 clients: ``settings.clients("lambda")`` (made by the target)."""
        return self.target.clients

    @property
    def target_flags(self) -> dict[str, str]:
        """The flags that name this run's target in a command printed for the user to run."""
        local = self.target_name == "local"
        flags = {"local": "--local"} if local else {}
        explicit = self.source("env") not in ("invoke.yaml", "default", "--local")
        if (local and self.env != "local") or (not local and explicit):
            flags["env"] = f"--env {self.env}"
        return flags

    @property
    def target_args(self) -> str:
        """The flags a printed command needs to reach this very environment, always explicit."""
        return " --local" + (f" --env {self.env}" if self.env != "local" else "") \
            if self.target_name == "local" else f" --env {self.env}"

    @property
    def log_group(self) -> str:
        """The function's CloudWatch log group."""
        return function_log_group(self.function_name)

    @property
    def state_dir(self) -> Path:
        """Per-env state: outputs.json, markers, Terraform's data (see :func:`state_path`)."""
        return state_path(self.root, self.env, self.target_name)

    @property
    def local_dir(self) -> Path:
        """The local target's processes, ports and images: one emulator per env (see :func:`state_path`)."""
        return state_path(self.root, self.env, "local")

    @property
    def cache_dir(self) -> Path:
        return self.root / ".tars" / "cache"

    @property
    def dist_dir(self) -> Path:
        return self.root / "dist"

    def as_dict(self, redact: bool = True) -> dict[str, Any]:
        """Every setting; with ``redact`` the secret fields and any value that looks like a credential
        (a key id, a token, a private key, a password in a URL) are masked."""
        if not redact:
            return {f.name: self._values.get(f.name) for f in FIELDS}
        return {f.name: ("****" if (f.secret and self._values.get(f.name)) else redact_value(self._values.get(f.name)))
                for f in FIELDS}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(setting, variable, value, source) for `inv config`, secrets redacted."""
        shown = self.as_dict(redact=True)
        return [(f.name, f.env, "" if shown[f.name] is None else str(shown[f.name]), self.source(f.name))
                for f in FIELDS]

    def lambda_environment(self) -> dict[str, str]:
        """The runbook's Lambda environment table, for the function's configuration."""
        return {f.env: str(self._values[f.name]) for f in LAMBDA_ENV_FIELDS
                if self._values.get(f.name) not in (None, "")}

    def check(self) -> list[str]:
        """Every missing required or malformed value, one line each."""
        lines = [f"{name}: {msg}" for name, msg in self.problems.items()]
        for f in FIELDS:
            if f.required and self._values.get(f.name) in (None, "") and f.name not in self.problems:
                where = f" (or Terraform output '{f.output}')" if f.output else ""
                lines.append(f"{f.name}: missing; set {f.env}{where}")
        return lines

    def ensure_valid(self, *names: str) -> None:
        """Refuse to run on malformed values (of ``names`` when given; missing ones are each task's own business)."""
        problems = {n: p for n, p in self.problems.items() if not names or n in names}
        if problems:
            first = next(iter(problems.values()))
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ConfigError(f"bad setting: {first}{more}", "run inv config --check to see every problem")

    def require(self, *names: str, hint: str | None = None) -> None:
        missing = [n for n in names if self._values.get(n) in (None, "")]
        if missing:
            envs = ", ".join(FIELD_BY_NAME[n].env for n in missing)
            raise ConfigError(f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
                              hint or f"set {envs} in .env.{self.env}, or run inv deploy-infrastructure "
                                      f"to write .tars/{self.env}/outputs.json")

    def replace(self, **values: Any) -> "Settings":
        new_values = dict(self._values, **values)
        new_sources = dict(self._sources, **{k: "override" for k in values})
        new = Settings(new_values, new_sources, dict(self.problems), self.root, self.envs)
        new.keep_target_of(self)
        return new

    def keep_target_of(self, other: "Settings") -> None:
        """Use ``other``'s target (and so its clients) when it is the same target: a reload."""
        from .target import Target

        if other.__dict__.get("_target") is not None and Target.key(other) == Target.key(self):
            self._target = other._target

    # ------------------------------------------------------------ child processes
    def child_env(self, *, aws: bool = False, **extra: str) -> dict[str, str]:
        """The environment of a child process: this process's, without any AWS variable or secret;
        with ``aws`` the variables that reach this run's target (the user's credentials for AWS,
        the emulator's endpoint and dummy keys for local). ``extra`` is added last."""
        env = plain_environment()
        if aws:
            env.update(self.target.aws_environment(aws_variables()))
        env.update({k: str(v) for k, v in extra.items()})
        return env

    @staticmethod
    def debug_requested() -> bool:
        return os.environ.get("TARS_DEBUG", "").lower() in ("1", "true", "yes")


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@/\s]+@")


def redact_value(value: Any) -> Any:
    """A value as `inv config` may show it: credential-looking strings masked, others unchanged."""
    if not isinstance(value, str):
        return value
    from .artifacts.secrets import SECRET_CONTENT

    if SECRET_CONTENT.search(value.encode()):
        return "****"
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "****@", value)


SECRET_VARIABLES = frozenset({f.env for f in FIELDS if f.secret} | {"AWS_SECURITY_TOKEN"})


def plain_environment() -> dict[str, str]:
    """This process's environment without AWS variables or secrets (what every child starts from)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in SECRET_VARIABLES}


def aws_variables() -> dict[str, str]:
    """This process's AWS variables (credentials chain, profile, config files) for a child talking to AWS."""
    return {k: v for k, v in os.environ.items() if k.startswith("AWS_")}


def _invoke_config(ctx: Any) -> dict[str, Any]:
    if ctx is None:
        return {}
    try:
        section = ctx.config.get("tars") or {}
    except AttributeError:
        return {}
    return dict(section)


def _lookup(f: Field, flags, environ, dotenv_layers, config, outputs, env) -> tuple[Any, str]:
    if f.name in flags:
        return flags[f.name], f"flag --{f.name.replace('_', '-')}"
    if f.env in environ and environ[f.env] != "":
        return environ[f.env], f"environment {f.env}"
    if f.name == "region" and environ.get("AWS_DEFAULT_REGION"):
        return environ["AWS_DEFAULT_REGION"], "environment AWS_DEFAULT_REGION"
    for filename, layer in dotenv_layers:
        if f.env in layer and layer[f.env][0] != "":
            value, line = layer[f.env]
            return value, f"{filename}:{line}"
    if f.name in config and config[f.name] is not None and f.name not in ("env", "envs"):
        return config[f.name], "invoke.yaml"
    if f.output and outputs.get(f.output) not in (None, ""):
        return outputs[f.output], f"terraform output {f.output} (.tars/{env}/outputs.json)"
    return None, "unset"
