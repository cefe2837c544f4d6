// The legacy shipping system's contract: a SOAP 1.1 document/literal WSDL, as such systems
// publish it (served at `<path>?wsdl`). Names, units and codes are the legacy system's own:
// weights in kilograms as decimals, money as decimal strings, two-digit status codes,
// consignment numbers "SHP-000123". services/shipping's adapter translates all of it.

export const LEGACY_NAMESPACE = 'urn:shoplab:legacy:shipping:1';
export const SOAP_PATH = '/soap/shipping';

/** The WSDL with `location` as the service's address (the server answers wherever it listens). */
export function shippingWsdl(location: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions name="ShippingService"
  targetNamespace="${LEGACY_NAMESPACE}"
  xmlns="http://schemas.xmlsoap.org/wsdl/"
  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:tns="${LEGACY_NAMESPACE}"
  xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <types>
    <xsd:schema targetNamespace="${LEGACY_NAMESPACE}" elementFormDefault="qualified">
      <xsd:element name="GetQuote">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="DestCountry" type="xsd:string"/>
          <xsd:element name="WeightKg" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="GetQuoteResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="Rate" type="xsd:string"/>
          <xsd:element name="CurrencyCode" type="xsd:string"/>
          <xsd:element name="TransitDays" type="xsd:int"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="BookConsignment">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="CustomerRef" type="xsd:string"/>
          <xsd:element name="DestCountry" type="xsd:string"/>
          <xsd:element name="WeightKg" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="BookConsignmentResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="Consignment" type="tns:Consignment"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="TrackConsignment">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="ConsignmentNo" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="TrackConsignmentResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="Consignment" type="tns:Consignment"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="CancelConsignment">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="ConsignmentNo" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="CancelConsignmentResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="Consignment" type="tns:Consignment"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:complexType name="Consignment">
        <xsd:sequence>
          <xsd:element name="ConsignmentNo" type="xsd:string"/>
          <xsd:element name="CustomerRef" type="xsd:string"/>
          <xsd:element name="DestCountry" type="xsd:string"/>
          <xsd:element name="WeightKg" type="xsd:string"/>
          <xsd:element name="Rate" type="xsd:string"/>
          <xsd:element name="StatusCode" type="xsd:string"/>
          <xsd:element name="StatusText" type="xsd:string"/>
          <xsd:element name="LastEventAt" type="xsd:string"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:element name="ShippingFault">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="ErrorCode" type="xsd:string"/>
          <xsd:element name="ErrorText" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </types>
  <message name="GetQuoteInput"><part name="parameters" element="tns:GetQuote"/></message>
  <message name="GetQuoteOutput"><part name="parameters" element="tns:GetQuoteResponse"/></message>
  <message name="BookConsignmentInput"><part name="parameters" element="tns:BookConsignment"/></message>
  <message name="BookConsignmentOutput"><part name="parameters" element="tns:BookConsignmentResponse"/></message>
  <message name="TrackConsignmentInput"><part name="parameters" element="tns:TrackConsignment"/></message>
  <message name="TrackConsignmentOutput"><part name="parameters" element="tns:TrackConsignmentResponse"/></message>
  <message name="CancelConsignmentInput"><part name="parameters" element="tns:CancelConsignment"/></message>
  <message name="CancelConsignmentOutput"><part name="parameters" element="tns:CancelConsignmentResponse"/></message>
  <message name="ShippingFaultMessage"><part name="fault" element="tns:ShippingFault"/></message>
  <portType name="ShippingPortType">
    <operation name="GetQuote">
      <input message="tns:GetQuoteInput"/><output message="tns:GetQuoteOutput"/>
      <fault name="ShippingFault" message="tns:ShippingFaultMessage"/>
    </operation>
    <operation name="BookConsignment">
      <input message="tns:BookConsignmentInput"/><output message="tns:BookConsignmentOutput"/>
      <fault name="ShippingFault" message="tns:ShippingFaultMessage"/>
    </operation>
    <operation name="TrackConsignment">
      <input message="tns:TrackConsignmentInput"/><output message="tns:TrackConsignmentOutput"/>
      <fault name="ShippingFault" message="tns:ShippingFaultMessage"/>
    </operation>
    <operation name="CancelConsignment">
      <input message="tns:CancelConsignmentInput"/><output message="tns:CancelConsignmentOutput"/>
      <fault name="ShippingFault" message="tns:ShippingFaultMessage"/>
    </operation>
  </portType>
  <binding name="ShippingBinding" type="tns:ShippingPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetQuote">
      <soap:operation soapAction="${LEGACY_NAMESPACE}#GetQuote"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
      <fault name="ShippingFault"><soap:fault name="ShippingFault" use="literal"/></fault>
    </operation>
    <operation name="BookConsignment">
      <soap:operation soapAction="${LEGACY_NAMESPACE}#BookConsignment"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
      <fault name="ShippingFault"><soap:fault name="ShippingFault" use="literal"/></fault>
    </operation>
    <operation name="TrackConsignment">
      <soap:operation soapAction="${LEGACY_NAMESPACE}#TrackConsignment"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
      <fault name="ShippingFault"><soap:fault name="ShippingFault" use="literal"/></fault>
    </operation>
    <operation name="CancelConsignment">
      <soap:operation soapAction="${LEGACY_NAMESPACE}#CancelConsignment"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
      <fault name="ShippingFault"><soap:fault name="ShippingFault" use="literal"/></fault>
    </operation>
  </binding>
  <service name="ShippingService">
    <port name="ShippingPort" binding="tns:ShippingBinding">
      <soap:address location="${location}"/>
    </port>
  </service>
</definitions>
`;
}
