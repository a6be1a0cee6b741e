"""What a product backend does with the generated Python client: plan a trip,
then read the job's status until it ends. Run by .ci/clients with the client
(package lotara_client) on PYTHONPATH and the service's base URL."""

import sys
import time

from lotara_client import Client
from lotara_client.api.jobs import create_plan, job_status
from lotara_client.models import JobStatus, JobStatusResponse, PlanRequest

TERMINAL = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}


def main(base_url: str) -> None:
    client = Client(base_url=base_url, raise_on_unexpected_status=True)
    # No constraints: they are optional.
    request = PlanRequest(user_id="ci-clients", query="3 days in Hanoi")
    created = create_plan.sync_detailed(client=client, body=request)
    assert created.status_code == 202, created
    job_id = created.parsed.job_id
    print(f"clients: job {job_id} {created.parsed.status.value}")

    deadline = time.monotonic() + 60
    while True:
        status = job_status.sync(client=client, job_id=job_id)
        assert isinstance(status, JobStatusResponse), status
        if status.status in TERMINAL:
            break
        assert time.monotonic() < deadline, f"job {job_id} still {status.status.value} after 60 s"
        time.sleep(0.2)

    assert status.status == JobStatus.COMPLETED, status.to_dict()
    plan = status.final_result
    cities = [stop.city for stop in plan.destinations]
    assert cities == ["Hanoi"], cities
    assert plan.dates.nights == 2, plan.dates
    print(f"clients: job {job_id} completed: {plan.summary}")


if __name__ == "__main__":
    main(sys.argv[1])
