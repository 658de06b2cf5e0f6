"""The SageMaker training-job operations the fake answers itself.

CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob, Search over
training jobs, and AddTags, ListTags and DeleteTags on training-job ARNs. Every other
request (and Search or tags of other resources) is left to moto.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from byohpo.fake._faults import FaultInjector
from byohpo.fake._protocol import ServiceError, validation_error
from byohpo.fake._queries import list_training_jobs, search_training_jobs
from byohpo.fake._training_jobs import (
    JobStore,
    SecondaryStatus,
    StopCause,
    TrainingJobRecord,
    WarmPoolState,
)
from byohpo.fake._transfer import S3Location, S3Transfer, TransferError
from byohpo.fake._validation import (
    check_create_training_job,
    check_model_constraints,
    check_not_found,
)

_TRAINING_JOB_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:(?P<region>[a-z0-9\-]+):\d{12}:training-job/(?P<name>.+)$"
)
_MAX_TAGS = 50


@dataclass(frozen=True)
class ServiceSettings:
    """Account-wide behaviour of the fake SageMaker."""

    account_id: str
    spot_savings: float = 0.7
    """Share of the training time managed spot training does not bill."""
    instance_quota: int | Mapping[str, int] | None = None
    """Instances of a type that may be busy at once (``None``: unlimited), per type or for all."""
    check_roles: bool = False
    """Refuse jobs whose role does not exist in the fake IAM, as SageMaker cannot assume it."""


class TrainingJobService:
    """Answers training-job operations from the store. Thread-safe.

    ``on_create`` is called (under the store's lock) with every new job; ``role_exists``
    tells whether an IAM role ARN exists.
    """

    def __init__(
        self,
        store: JobStore,
        settings: ServiceSettings,
        faults: FaultInjector,
        transfer: S3Transfer,
        on_create: Callable[[TrainingJobRecord], None],
        role_exists: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._settings = settings
        self._faults = faults
        self._transfer = transfer
        self._on_create = on_create
        self._role_exists = role_exists
        self._handlers: dict[str, Callable[[str, dict[str, Any]], dict[str, Any] | None]] = {
            "CreateTrainingJob": self.create_training_job,
            "DescribeTrainingJob": self.describe_training_job,
            "ListTrainingJobs": self.list_training_jobs,
            "StopTrainingJob": self.stop_training_job,
            "Search": self.search,
            "AddTags": self.add_tags,
            "ListTags": self.list_tags,
            "DeleteTags": self.delete_tags,
        }

    def call(self, operation: str, region: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The operation's response, or ``None`` if the fake leaves this request to moto.

        Raises :class:`ServiceError` for an error SageMaker would answer with.
        """
        handler = self._handlers.get(operation)
        return None if handler is None else handler(region, params)

    # --- jobs -----------------------------------------------------------------------------

    def create_training_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        check_create_training_job(params)
        name = params["TrainingJobName"]
        account = self._settings.account_id
        arn = f"arn:aws:sagemaker:{region}:{account}:training-job/{name.lower()}"
        self._store.ensure_name_free(region, name)
        if self._faults.capacity_error():
            raise self._quota_error(params, used=None)
        self._check_quota(region, params)
        if self._settings.check_roles and not self._role_exists(params["RoleArn"]):
            raise validation_error(
                f"Could not assume role {params['RoleArn']}. Please ensure that the role exists "
                "and allows principal 'sagemaker.amazonaws.com' to assume the role."
            )
        self._check_channels(params)
        now = time.time()
        record = TrainingJobRecord(
            name=name,
            arn=arn,
            region=region,
            request=params,
            creation_time=now,
            fate=self._faults.fate(name),
            tags={t["Key"]: t.get("Value", "") for t in params.get("Tags") or []},
        )
        record.enter(SecondaryStatus.STARTING, now)
        with self._store.lock:
            self._store.add(record)
            self._claim_warm_pool(record, now)
            self._on_create(record)
        return {"TrainingJobArn": arn}

    def _check_channels(self, params: Mapping[str, Any]) -> None:
        for channel in params.get("InputDataConfig") or []:
            source = (channel.get("DataSource") or {}).get("S3DataSource")
            if not source:
                continue
            uri = source["S3Uri"]
            try:
                location = S3Location.parse(uri)
            except TransferError as exc:
                raise validation_error(str(exc)) from exc
            if not self._transfer.keys(location):
                raise validation_error(
                    f'No S3 objects found under S3 URL "{uri}" given in input data source. '
                    "Please ensure that the bucket exists in the selected region, that objects "
                    f'exist under that S3 prefix, and that the role "{params["RoleArn"]}" has '
                    f'"s3:ListBucket" permissions on bucket "{location.bucket}".'
                )

    def _quota(self, instance_type: str) -> int | None:
        quota = self._settings.instance_quota
        if quota is None or isinstance(quota, int):
            return quota
        return quota.get(instance_type)

    def _check_quota(self, region: str, params: Mapping[str, Any]) -> None:
        resources = params.get("ResourceConfig") or {}
        instance_type = resources.get("InstanceType", "")
        quota = self._quota(instance_type)
        if quota is None:
            return
        used = sum(
            int(r.resource_config.get("InstanceCount", 1))
            for r in self._store.in_region(region)
            if r.status.is_busy and r.resource_config.get("InstanceType") == instance_type
        )
        if used + int(resources.get("InstanceCount", 1)) > quota:
            raise self._quota_error(params, used)

    def _quota_error(self, params: Mapping[str, Any], used: int | None) -> ServiceError:
        resources = params.get("ResourceConfig") or {}
        instance_type = resources.get("InstanceType", "")
        quota = self._quota(instance_type)
        limit = quota if quota is not None else used or 0
        return ServiceError(
            "ResourceLimitExceeded",
            f"The account-level service limit '{instance_type} for training job usage' is "
            f"{limit} Instances, with current utilization of {used if used is not None else limit}"
            f" Instances and a request delta of {resources.get('InstanceCount', 1)} Instances. "
            "Please use AWS Service Quotas to request an increase for this quota. If AWS "
            "Service Quotas is not available, contact AWS support to request an increase for "
            "this quota.",
        )

    def _claim_warm_pool(self, record: TrainingJobRecord, now: float) -> None:
        """A new job with a warm pool request reuses a matching available pool, if any."""
        if not record.keep_alive_seconds:
            return
        key = record.warm_pool_key()
        for other in self._store.in_region(record.region):
            if other is record or other.keep_alive_seconds is None:
                continue
            other.warm_pool(now)  # lets an expired pool become Terminated
            if other.warm_pool_state is WarmPoolState.AVAILABLE and other.warm_pool_key() == key:
                other.hand_over_warm_pool(record.name, now)
                record.warm_start = True
                return

    def _record(self, region: str, name: str) -> TrainingJobRecord:
        record = self._store.get(region, name)
        check_not_found(record is not None)
        assert record is not None  # for the type checker; check_not_found raised otherwise
        return record

    def describe_training_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        check_model_constraints("DescribeTrainingJob", params)
        with self._store.lock:
            record = self._record(region, params["TrainingJobName"])
            return record.describe(time.time(), self._settings.spot_savings)

    def list_training_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        check_model_constraints("ListTrainingJobs", params)
        with self._store.lock:
            return list_training_jobs(self._store.in_region(region), params, time.time())

    def stop_training_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        check_model_constraints("StopTrainingJob", params)
        with self._store.lock:
            record = self._record(region, params["TrainingJobName"])
            status = record.status
            if status.is_terminal or record.stop_cause is not None:
                raise validation_error(
                    "The request was rejected because the training job is in status "
                    f"{status.value}."
                )
            record.stop_cause = StopCause.USER
            record.enter(SecondaryStatus.STOPPING, time.time())
            self._store.changed.notify_all()
        return {}

    def search(self, region: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if params.get("Resource") != "TrainingJob":
            return None
        check_model_constraints("Search", params)
        with self._store.lock:
            return search_training_jobs(
                self._store.in_region(region), params, time.time(), self._settings.spot_savings
            )

    # --- tags -----------------------------------------------------------------------------

    def _tagged(self, region: str, arn: str) -> TrainingJobRecord | None:
        """The job an ARN names, or None if the ARN is not a training job's (moto's then)."""
        match = _TRAINING_JOB_ARN.match(arn or "")
        if match is None:
            return None
        record = self._store.get(match.group("region"), match.group("name"))
        if record is None:
            raise validation_error(f"Resource {arn} does not exist.")
        return record

    def add_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any] | None:
        check_model_constraints("AddTags", params)
        with self._store.lock:
            record = self._tagged(region, params.get("ResourceArn", ""))
            if record is None:
                return None
            tags = dict(record.tags)
            tags.update({t["Key"]: t.get("Value", "") for t in params.get("Tags") or []})
            if len(tags) > _MAX_TAGS:
                raise validation_error(
                    f"Maximum number of tags ({_MAX_TAGS}) exceeded for resource {record.arn}."
                )
            record.tags = tags
            return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def list_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any] | None:
        check_model_constraints("ListTags", params)
        with self._store.lock:
            record = self._tagged(region, params.get("ResourceArn", ""))
            if record is None:
                return None
            tags = [{"Key": k, "Value": v} for k, v in record.tags.items()]
        token = str(params.get("NextToken") or "0")
        start = int(token) if token.isdigit() else 0
        size = int(params.get("MaxResults") or 50)
        response: dict[str, Any] = {"Tags": tags[start : start + size]}
        if start + size < len(tags):
            response["NextToken"] = str(start + size)
        return response

    def delete_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any] | None:
        check_model_constraints("DeleteTags", params)
        with self._store.lock:
            record = self._tagged(region, params.get("ResourceArn", ""))
            if record is None:
                return None
            for key in params.get("TagKeys") or []:
                record.tags.pop(key, None)
        return {}
