"""The desk: what case workers, supervisors, regulators, agencies and the
public look up. A read model fed by the public topics through the same
exactly-once tracking as every other service, projected into plain SQL tables
(complaints, penalty cases, referrals) that listings filter, sort and page."""
