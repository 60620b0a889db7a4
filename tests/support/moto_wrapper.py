#!/usr/bin/env python3
"""moto's AWS fake on 127.0.0.1, ready for rdmabench's offline Terraform round trip.

Why not plain `moto_server`:
- it binds a random free port (port 0) and writes the number to --port-file when it is ready
  (tmp + rename: a reader never sees half a number), so parallel tests never collide;
- `--no-capacity` makes the EKS node group end CREATE_FAILED with EC2's
  InsufficientInstanceCapacity, as AWS does when it has none of the type in the AZ;
- `--recreate-eks-log-groups` re-creates a deleted cluster's log group once, as EKS does;
- `--quota CODE=VALUE` sets what Service Quotas reports, to test the preflight;
- what moto 5.2.5 lacks or gets wrong for this stack is filled in by moto_gaps.py (see there).

Clients find it through the environment only: AWS_ENDPOINT_URL=http://127.0.0.1:PORT (measured:
terraform-provider-aws 5.100 honours it for sts, iam, ec2, eks, kms, logs and ecr, the Rust AWS
SDK for sts, service-quotas and tagging; no provider argument is needed), any access key,
AWS_REGION, AWS_EC2_METADATA_DISABLED=true. Each call is routed by the service in its SigV4
scope and its operation (X-Amz-Target, Action, or the REST path matched against botocore's
service model); calls that are not faked go to moto unchanged.
"""

import argparse
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from functools import cache
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # role policy attachments need AWS's

import botocore.session  # noqa: E402
from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam.models import get_account_id_from  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

import moto_gaps  # noqa: E402

LOCK = threading.Lock()  # the server is threaded; fakes, hooks and log lines go one at a time
READ_ONLY = re.compile(r"(Describe|List|Get|Head|Search|Lookup)[A-Z]|$")  # not replayed


class Call:
    """One AWS request: service (from the SigV4 scope), protocol, operation and parameters."""

    def __init__(self, environ, body):
        scope = re.search(r"Credential=([^/]*)/\d+/([^/]+)/([^/]+)/",
                          environ.get("HTTP_AUTHORIZATION", ""))
        access_key, self.region, self.service = scope.groups() if scope else ("", "us-east-1", "")
        self.account = get_account_id_from(access_key)
        self.method, self.body = environ["REQUEST_METHOD"], body
        # The SDK's id of one call, shared by its resends, and which attempt this is.
        self.invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
        self.attempt = re.search(r"attempt=(\d+)", environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        # The raw path: access-entry paths carry ARNs with %2F, which PATH_INFO has decoded.
        url = urlsplit(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/")
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        form = {}
        if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        self.params = {}  # path labels of REST calls, form fields of query (EC2, IAM, STS) calls
        rpc = re.fullmatch(r"/service/[^/]+/operation/([^/]+)", url.path)
        if environ.get("HTTP_X_AMZ_TARGET"):
            self.protocol = "json"
            self.operation = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[-1]
        elif rpc:
            self.protocol, self.operation = "cbor", rpc[1]
        elif "Action" in form or "Action" in query:
            self.params = {**query, **form}
            self.protocol = "ec2" if self.service == "ec2" else "query"
            self.operation = self.params["Action"]
        else:
            self.protocol, self.operation = "rest-json", ""
            for operation, method, pattern in rest_routes(self.service):
                match = pattern.fullmatch(url.path)
                if method == self.method and match:
                    self.operation = operation
                    self.params = {k: unquote(v) for k, v in match.groupdict().items()}
                    break

    def json(self):
        return json.loads(self.body or b"{}")

    def key(self, *rest):
        return (self.account, self.region, *rest)


@cache
def rest_routes(service):
    """(operation, method, path regex) of a REST service, from botocore's model of it."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:
        return []
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        regex = re.escape(http["requestUri"].split("?")[0]).replace(r"\{", "{").replace(r"\}", "}")
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", regex)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        routes.append((name, http["method"], re.compile(regex)))
    return routes


def error_response(call, error):
    if call.protocol in ("ec2", "query"):
        inner = (f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>")
        body = (f"<Response><Errors><Error>{inner}</Error></Errors>"
                f"<RequestID>{uuid.uuid4()}</RequestID></Response>" if call.protocol == "ec2" else
                f"<ErrorResponse><Error><Type>Sender</Type>{inner}</Error></ErrorResponse>")
        return Response(body, error.status, content_type="text/xml")
    body = json.dumps({"__type": error.code, "message": error.message})
    return Response(body, error.status, content_type="application/json",
                    headers={"x-amzn-ErrorType": error.code,
                             "x-amzn-RequestId": str(uuid.uuid4())})


class Wrapper:
    """WSGI middleware: a fake, else moto (and a hook after it)."""

    def __init__(self, verbose):
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.verbose = verbose
        self.replies = {}  # idempotency key -> [lock, (body, status, content type) or None]

    def __call__(self, environ, start_response):
        body = Request(environ).get_data()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        call = Call(environ, body)
        moto_gaps.missing_tagged_resources[call.account]  # joins this account's GetResources
        source, response = self.answer(call, environ)
        resent = call.attempt and call.attempt[1] != "1"
        if self.verbose or resent or response.status_code >= 400:
            attempt = f" attempt {call.attempt[1]}" if resent else ""
            with LOCK:
                sys.stderr.write(f"moto_wrapper: {time.strftime('%H:%M:%S')} {call.service} "
                                 f"{call.operation or call.method + ' ?'}{attempt} "
                                 f"{response.status_code} ({source})\n")
                sys.stderr.flush()
        return response(environ, start_response)

    def answer(self, call, environ):
        # An SDK resends a request whose answer it missed (a slow answer on a loaded machine, a
        # dropped connection). AWS answers an EKS create that repeats its clientRequestToken
        # with the first answer; a resent EC2 revoke or delete would meet a rule or resource
        # that the first attempt already removed (InvalidPermission.NotFound). So a resent
        # mutating call gets its first attempt's answer: keyed by the clientRequestToken where
        # there is one, else by the SDK's amz-sdk-invocation-id, which every attempt of one
        # call shares (the Go and Rust SDKs send it). One attempt per key at a time, so a
        # resend that arrives while the first is still being answered waits for it.
        key, kept = self.idempotency_key(call)
        if key is None:
            return self.dispatch(call, environ)
        with LOCK:
            entry = self.replies.setdefault(key, [threading.Lock(), None])
        with entry[0]:
            if entry[1] is not None:
                body, status, content_type = entry[1]
                return "first answer, resent", Response(body, status, content_type=content_type)
            source, response = self.dispatch(call, environ)
            if response.status_code in kept:
                entry[1] = (response.get_data(), response.status_code, response.content_type)
            return source, response

    @staticmethod
    def idempotency_key(call):
        """(key, statuses worth replaying) of a mutating call, or (None, ()) for other calls.

        A create's clientRequestToken also comes back on the provider's own retries of a failed
        create (a new call, same input), which must be tried again: only a success is replayed.
        The invocation id belongs to one call, whose resends get whatever it answered first
        (not a 5xx, which the SDK resends on purpose)."""
        if READ_ONLY.match(call.operation):
            return None, ()
        if call.protocol == "rest-json" and call.operation.startswith("Create"):
            try:
                token = call.json().get("clientRequestToken")
            except (ValueError, AttributeError):
                token = None
            if token:
                return (call.key(call.service, call.operation, "token", token), range(200, 300))
        if call.invocation:
            return (call.key(call.service, call.operation, "invocation", call.invocation),
                    range(200, 500))
        return None, ()

    def dispatch(self, call, environ):
        try:
            fake = moto_gaps.FAKES.get((call.service, call.operation))
            if fake:
                with LOCK:
                    result = fake(call)
                if not isinstance(result, Response):
                    kind = "x-amz-json-1.1" if call.protocol == "json" else "json"
                    result = Response(json.dumps(result), 200,
                                      content_type=f"application/{kind}")
                return "fake", result
            response = Response.from_app(self.moto, environ)
            hook = moto_gaps.HOOKS.get((call.service, call.operation))
            if hook and response.status_code == 200:
                with LOCK:
                    response = hook(call, response)
            return "moto", response
        except moto_gaps.AwsError as error:
            return "fake", error_response(call, error)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port-file", required=True, help="where to write the port when ready")
    parser.add_argument("--quota", action="append", default=[], metavar="CODE=VALUE",
                        help="what Service Quotas reports for an ec2 or vpc quota code")
    parser.add_argument("--no-capacity", action="store_true",
                        help="EKS node groups end CREATE_FAILED: InsufficientInstanceCapacity")
    parser.add_argument("--recreate-eks-log-groups", action="store_true",
                        help="re-create /aws/eks/<name>/cluster once after its cluster's deletion")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="exit when stdin reaches EOF (the process that started us died)")
    parser.add_argument("--verbose", action="store_true",
                        help="log every call to stderr, not only those answered with an error")
    args = parser.parse_args(argv)
    quotas = moto_gaps.QUOTAS
    for item in args.quota:
        code, _, value = item.partition("=")
        service = next((s for s, codes in quotas.items() if code in codes), None)
        if service is None or not re.fullmatch(r"\d+(\.\d+)?", value):
            parser.error(f"--quota {item}: want CODE=NUMBER with a known code: "
                         + ", ".join(sorted(c for codes in quotas.values() for c in codes)))
        quotas[service][code] = (quotas[service][code][0], float(value))
    moto_gaps.NO_CAPACITY = args.no_capacity
    moto_gaps.RECREATE_EKS_LOG_GROUPS = args.recreate_eks_log_groups
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # we log calls ourselves
    server = make_server("127.0.0.1", 0, Wrapper(args.verbose), threaded=True,
                         request_handler=MotoRequestHandler)
    port = server.socket.getsockname()[1]
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs from it
    moto_gaps.missing_tagged_resources[DEFAULT_ACCOUNT_ID]

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_stdin:
        def watch_stdin():
            sys.stdin.buffer.read()
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch_stdin, daemon=True).start()

    tmp = f"{args.port_file}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)
    sys.stderr.write(f"moto_wrapper: listening on http://127.0.0.1:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
        try:  # remove the port file if it is still ours (a new wrapper may have replaced it)
            with open(args.port_file) as f:
                if f.read().strip() == str(port):
                    os.remove(args.port_file)
        except OSError:
            pass


if __name__ == "__main__":
    main()
