"""Reference data every service reads and none owns: agency ids, the division
codes agencies serve, and the directory of agencies with their chain of command.
Applications receive the directory from their spec; none imports another
service's copy."""
