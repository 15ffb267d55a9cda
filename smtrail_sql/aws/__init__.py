"""Everything that talks to AWS outside Athena queries: sessions, S3 estimates and sync, CloudTrail checks.

Every client comes from :func:`smtrail_sql.aws.session.make_session`, so boto3's standard configuration
applies: the credential chain (profile, environment, instance role) and the endpoint settings
``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_ATHENA``.
"""
