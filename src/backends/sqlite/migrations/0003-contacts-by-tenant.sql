-- Listing a tenant's contacts pages by id within the tenant.
CREATE INDEX contacts_tenant ON contacts(tenant_id, id);
