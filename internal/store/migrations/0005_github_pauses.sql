-- GitHub rate limits, shared by every replica: after a secondary limit or
-- an exhausted primary one, no call goes out with the installation's token
-- before until (Unix milliseconds).
CREATE TABLE github_pauses (
    installation_id BIGINT PRIMARY KEY,
    until           BIGINT NOT NULL
);
