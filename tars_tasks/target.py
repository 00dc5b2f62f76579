"""Where a run deploys, chosen once when Settings load: AWS, or the embedded local emulator.

``settings.target`` is an :class:`AwsTarget` or a :class:`LocalTarget`. It

* makes the run's boto3 clients (:class:`~tars_tasks.aws.clients.Clients`, ``settings.clients``): one boto3 session per
  run, each service's client made on first use with botocore's standard retries. AWS: the user's
  profile and boto3's own configuration (``AWS_ENDPOINT_URL`` and the rest, as boto3 defines them).
  Local: the emulator's ``endpoint_url`` and dummy credentials, given explicitly; the user's
  profile is never read. :meth:`Clients.observe` sees every client made (a call recorder);
* gives a child process that talks to AWS its AWS variables (:meth:`aws_environment`, used by
  ``Settings.child_env(aws=True)``); every other child gets none, nor any secret;
* carries what really differs between the two targets: how the smoke test invokes, whether old
  Lambda versions are pruned, whether the Function URL wants SigV4, what runs the infrastructure
  (:meth:`infrastructure`) and what publishes the MCP server (:meth:`mcp`).

Nothing here is module state: two runs in one process (two envs side by side) have two Settings,
two targets, two sets of clients. boto3, the local servers and Terraform are imported on use.
"""
from __future__ import annotations

from .aws.clients import EMULATOR_CREDENTIALS, Clients


class Target:
    """What a run deploys to. Subclasses say what differs; the rest is the same for both."""

    name = ""
    prunes_versions = True     # delete old Lambda versions after a deploy
    disposable = False         # writes of sample data need no confirmation
    emails_passwords = True    # Cognito e-mails a new user's temporary password (inv users.add)

    def __init__(self, settings) -> None:
        self.region = settings.region
        self.clients = Clients(region=settings.region, profile=self._profile(settings),
                               endpoint_url=self._endpoint_url, credentials=self._credentials(),
                               max_attempts=settings.max_attempts or 5, read_timeout=settings.read_timeout or 30.0)

    # ---------------------------------------------------------------- the clients
    def _profile(self, settings) -> str | None:
        return None

    def _credentials(self) -> dict[str, str] | None:
        return None

    def _endpoint_url(self) -> str | None:
        return None

    @staticmethod
    def key(settings) -> tuple:
        """What a target is made of: settings with the same key share one (a reload keeps its clients)."""
        return (settings.target_name, settings.region, settings.profile, settings.endpoint_url,
                settings.max_attempts, settings.read_timeout)

    # ---------------------------------------------------------------- what differs
    def start(self, settings) -> None:
        """Make the target reachable (nothing to do for AWS)."""

    def describe(self) -> str:
        raise NotImplementedError

    def aws_environment(self, user: dict[str, str]) -> dict[str, str]:
        """The AWS variables a child process that talks to this target needs (``user``: this
        process's own AWS variables)."""
        raise NotImplementedError

    def invoke(self, settings, function: str, qualifier: str, payload: dict, *, timeout: float) -> dict:
        """Invoke ``function:qualifier`` once, never retried (the smoke test). boto3's reply shape."""
        raise NotImplementedError

    def signs_function_url(self, settings) -> bool:
        """True when requests to the Function URL must be SigV4-signed (its AuthType is AWS_IAM: in
        AWS as lambda.tf makes it, and locally, where local/function_url.py checks SigV4 too)."""
        from .aws import lambda_

        return lambda_.url_auth_type(self.clients, settings.function_name, settings.alias) == "AWS_IAM"

    def sign_in_build_env(self) -> dict[str, str]:
        """What the UI build needs beyond the pool and client to sign in here (none on AWS)."""
        return {}

    def infrastructure(self, settings):
        """What runs the infrastructure (plan, apply, outputs, state): see steps/infra.py."""
        raise NotImplementedError

    def mcp(self):
        """What publishes the MCP server (plan, execute, rollback of a revision): see steps/mcp.py."""
        raise NotImplementedError


class AwsTarget(Target):
    name = "aws"

    def __init__(self, settings) -> None:
        self._explicit_endpoint = settings.endpoint_url
        self._profile_name = settings.profile
        super().__init__(settings)

    def _profile(self, settings) -> str | None:
        return settings.profile

    def _endpoint_url(self) -> str | None:
        return self._explicit_endpoint   # None: boto3's own configuration decides (AWS_ENDPOINT_URL ...)

    def describe(self) -> str:
        return f"AWS ({self.region})"

    def aws_environment(self, user: dict[str, str]) -> dict[str, str]:
        env = dict(user)   # the credentials chain: keys, token, profile, config files ...
        env.update({"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region})
        if self._profile_name:
            env["AWS_PROFILE"] = self._profile_name
        if self._explicit_endpoint:
            env["AWS_ENDPOINT_URL"] = self._explicit_endpoint
        return env

    def invoke(self, settings, function: str, qualifier: str, payload: dict, *, timeout: float) -> dict:
        from .aws import lambda_

        return lambda_.invoke(self.clients, function, qualifier, payload, timeout=timeout)

    def infrastructure(self, settings):
        from .steps.infra_terraform import TerraformRunner

        return TerraformRunner(settings, self.terraform(settings))

    def terraform(self, settings):
        """Terraform on ``infrastructure/`` with this env's S3 backend and the user's AWS credentials."""
        from .errors import ConfigError
        from .tools import terraform

        workdir = settings.root / "infrastructure"
        if not workdir.is_dir():
            raise ConfigError(f"no Terraform configuration: {workdir} does not exist",
                              "run the task from the TARS checkout (or set TARS_ROOT to it)")
        backend = workdir / "backend" / f"{settings.env}.hcl"
        if not backend.is_file():
            raise ConfigError(f"no backend configuration for env '{settings.env}': {backend} is missing",
                              f"create infrastructure/backend/{settings.env}.hcl (copy backend/dev.hcl)")
        variables = {"project": settings.project, "env": settings.env, "region": settings.region,
                     "bedrock_model_id": settings.bedrock_model_id,
                     "github_repository": terraform.github_repository(settings)}
        return terraform.Terraform(terraform.find_program(settings), workdir, settings.state_dir / "terraform",
                                   env=settings.child_env(aws=True),
                                   backend=(f"-backend-config=backend/{settings.env}.hcl", "-reconfigure"),
                                   plugin_dir=settings.terraform_plugin_dir,
                                   variables={k: str(v) for k, v in variables.items() if v not in (None, "")})

    def mcp(self):
        from .steps import mcp_ecs

        return mcp_ecs


class LocalTarget(Target):
    """The embedded emulator (moto's server on 127.0.0.1) and the local stand-ins beside it."""

    name = "local"
    prunes_versions = False    # moto reuses the number of a deleted version (len(versions) + 1)
    disposable = True
    emails_passwords = False   # the emulator sends no e-mail: inv users.add keeps a generated password

    def __init__(self, settings) -> None:
        self._endpoint = settings.endpoint_url   # given (a local server's own environment), else start()
        super().__init__(settings)

    def _credentials(self) -> dict[str, str] | None:
        return dict(EMULATOR_CREDENTIALS)

    def _endpoint_url(self) -> str | None:
        # None only before start() in-process (tests under moto's mock): boto3's own endpoints, but
        # always with the dummy keys, never the user's credentials.
        return self._endpoint

    def start(self, settings) -> None:
        """Start the emulator unless it runs and talk to it; once the local infrastructure exists,
        also the function runtime and the site server (verify, the UI and the smoke test need them)."""
        from .local import emulator

        proc, _ = emulator.up(settings)
        self.use(proc.url)
        if (settings.state_dir / "outputs.json").is_file():
            from .local import services

            services.ensure(settings)

    def use(self, endpoint: str) -> None:
        """Talk to the emulator at ``endpoint`` from now on (clients made before are dropped)."""
        if endpoint != self._endpoint:
            self._endpoint = endpoint
            self.clients.forget()

    @property
    def endpoint(self) -> str | None:
        return self._endpoint

    def describe(self) -> str:
        return "the local emulator"

    def aws_environment(self, user: dict[str, str]) -> dict[str, str]:
        env = {**EMULATOR_CREDENTIALS, "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self._endpoint:
            env["AWS_ENDPOINT_URL"] = self._endpoint
        return env

    def invoke(self, settings, function: str, qualifier: str, payload: dict, *, timeout: float) -> dict:
        from .local import runtime

        return runtime.invoke(settings, function, qualifier, payload, timeout=timeout)

    def sign_in_build_env(self) -> dict[str, str]:
        """The UI signs in against the emulator, with USER_PASSWORD_AUTH: moto cannot complete SRP
        (it looks the user up by USER_ID_FOR_SRP and never checks the proof; ui/src/auth.js)."""
        return {"VITE_COGNITO_ENDPOINT": self._endpoint, "VITE_COGNITO_AUTH_FLOW": "USER_PASSWORD_AUTH"} \
            if self._endpoint else {}

    def infrastructure(self, settings):
        """The real infrastructure/ applied to the emulator by terraform, through the same
        steps as AWS (tars_tasks/local/tf_target.py)."""
        from .local.tf_target import LocalTerraformRunner

        return LocalTerraformRunner(settings)

    def mcp(self):
        from .local import mcp

        return mcp


TARGETS = {"aws": AwsTarget, "local": LocalTarget}


def make(settings) -> Target:
    """The target ``settings`` name (``settings.target_name``: aws or local)."""
    return TARGETS[settings.target_name](settings)
