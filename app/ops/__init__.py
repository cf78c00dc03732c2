"""Operations: backups and restores of the database and media (flask backup, flask restore)."""
