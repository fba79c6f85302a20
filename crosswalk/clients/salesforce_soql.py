"""The fields Crosswalk reads from Salesforce: one list per object, shared by the REST reads
and the Bulk API 2.0 query jobs, so both bring the same record shapes."""

from __future__ import annotations

ACCOUNT_FIELDS = (
    "Id, IsDeleted, Name, Type, Industry, Phone, Website, AnnualRevenue, NumberOfEmployees, "
    "BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry, "
    "Tax_Id__c, Credit_Limit__c, Payment_Terms_Days__c, Marketing_Consent__c, "
    "D2C_Customer_Id__c, D2C_Primary_User_Id__c, OwnerId, CreatedDate, LastModifiedDate, "
    "SystemModstamp"
)
CONTACT_FIELDS = (
    "Id, IsDeleted, AccountId, FirstName, LastName, Email, Phone, MobilePhone, Title, "
    "HasOptedOutOfEmail, Primary_Contact__c, D2C_User_Id__c, CreatedDate, LastModifiedDate"
)

SIGNUP_FIELDS = {
    "Contact": "Id, AccountId, FirstName, LastName, Email, Phone, HasOptedOutOfEmail, "
    "D2C_User_Id__c",
    "Lead": "Id, FirstName, LastName, Company, Email, Phone, LeadSource, D2C_User_Id__c, "
    "D2C_Customer_Id__c",
}
"""What a sign-up's Contact or Lead is read with: every field a sign-up may write."""
